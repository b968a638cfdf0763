#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "mounts.h"
#include "util.h"

/* DAX mode from the mount options: "dax", "dax=always", "dax=inode", ... */
static void dax_mode(const char *opts, char *out, size_t len)
{
	char buf[2048], *save, *tok;

	out[0] = 0;
	snprintf(buf, sizeof(buf), "%s", opts);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "dax"))
			snprintf(out, len, "dax");
		else if (!strncmp(tok, "dax=", 4) && strcmp(tok + 4, "never"))
			snprintf(out, len, "%s", tok + 4);
	}
}

int mounts_read(struct dax_mount *m, int max, bool dax_only)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096];
	int n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned int ma, mi;
		char target[256], opts[1024], fstype[64], source[256], sopts[1024];
		char *dash = strstr(line, " - ");
		char all[2048];

		if (!dash || sscanf(line, "%*u %*u %u:%u %*s %255s %1023s", &ma, &mi, target, opts) != 4)
			continue;
		if (sscanf(dash + 3, "%63s %255s %1023s", fstype, source, sopts) != 3)
			continue;
		snprintf(all, sizeof(all), "%s,%s", opts, sopts);
		dax_mode(all, m[n].dax, sizeof(m[n].dax));
		if (dax_only && !m[n].dax[0])
			continue;
		m[n].dev = kdev_make(ma, mi);
		snprintf(m[n].source, sizeof(m[n].source), "%s", source);
		snprintf(m[n].target, sizeof(m[n].target), "%s", target);
		snprintf(m[n].fstype, sizeof(m[n].fstype), "%s", fstype);
		n++;
	}
	fclose(f);
	return n;
}

long dev_from_spec(const char *spec)
{
	unsigned int ma, mi;
	char extra;
	struct stat st;

	if (sscanf(spec, "%u:%u%c", &ma, &mi, &extra) == 2)
		return kdev_make(ma, mi);
	if (stat(spec, &st))
		return -1;
	if (S_ISBLK(st.st_mode))
		return kdev_make(major(st.st_rdev), minor(st.st_rdev));
	return kdev_make(major(st.st_dev), minor(st.st_dev));
}

bool dev_is_dax_mounted(unsigned int dev)
{
	struct dax_mount m[64];
	int n = mounts_read(m, 64, true);

	for (int i = 0; i < n; i++)
		if (m[i].dev == dev)
			return true;
	return false;
}

void pmem_devices(char *buf, size_t len)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	size_t used = 0;

	buf[0] = 0;
	while (d && (e = readdir(d))) {
		char path[300], size[32] = "0", dax[8] = "0";

		if (strncmp(e->d_name, "pmem", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/size", e->d_name);
		read_line(path, size, sizeof(size));
		snprintf(path, sizeof(path), "/sys/block/%s/queue/dax", e->d_name);
		read_line(path, dax, sizeof(dax));
		used += snprintf(buf + used, used < len ? len - used : 0, "%s%s(%lluM%s)",
				 used ? "," : "", e->d_name, strtoull(size, NULL, 10) / 2048,
				 !strcmp(dax, "1") ? ",dax" : "");
	}
	if (d)
		closedir(d);
	if (!buf[0])
		snprintf(buf, len, "none");
}

int parse_dax_dev(const char *spec, long *dev, char *why, size_t len)
{
	long d = dev_from_spec(spec);

	if (d < 0) {
		snprintf(why, len, "device '%s' not found: give MAJ:MIN, /dev/pmemN or a mount point",
			 spec);
		return -1;
	}
	if (!dev_is_dax_mounted((unsigned int)d)) {
		snprintf(why, len, "'%s' is not a DAX-mounted filesystem", spec);
		return -1;
	}
	*dev = d;
	return 0;
}
