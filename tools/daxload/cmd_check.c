/* daxload check PATH: is this file in DAX mode right now? */
#include "daxload.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

static const char usage[] =
"usage: daxload check PATH\n"
"  Prints 'DAXLOAD op=check pid= dev= ino= file= dax=0|1 dax_attr=known|unknown\n"
"  fs= mount_dax=always|inode|never|none blocks_2m_aligned=1|0|na|unknown'.\n"
"  blocks_2m_aligned: whether the blocks of the file's first 2 MiB sit on a\n"
"  2 MiB boundary (FIEMAP; na below 2 MiB). Exit 0 if PATH is DAX, 1 if not.\n";

/* Opened read-only for FIEMAP only: no mapping, so no DAX entries. */
static const char *blocks_first_2m(const char *path, uint64_t size)
{
	struct dfile g;
	const char *v = "unknown";
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return "na";
	if (dfile_open(&g, path, 0) < 0)
		return v;
	v = dfile_blocks_2m(&g, 0, size);
	dfile_close(&g);
	return v;
}

int cmd_check(int argc, char **argv)
{
	struct dfile f;
	struct out o;
	const char *path;
	int rc = only_path_arg(argc, argv, usage, &path);

	if (rc >= 0)
		return rc;
	if (path_check(path, &f) < 0)
		return EXIT_ERR;
	out_begin(&o, "check", NULL);
	out_file(&o, &f);
	out_kv(&o, "dax_attr", "%s", f.dax_attr_known ? "known" : "unknown");
	out_kv(&o, "fs", "%s", f.fs);
	out_kv(&o, "mount_dax", "%s", f.mnt_dax);
	out_kv(&o, "blocks_2m_aligned", "%s", blocks_first_2m(path, f.size));
	out_emit(&o);
	return f.dax ? EXIT_OK : EXIT_ERR;
}
