/* A file that other programs read (node_exporter's textfile collector),
 * replaced whole each time. Safe in a directory owned by someone else
 * while we run as root: every write goes to a new temporary name, created
 * with O_EXCL | O_NOFOLLOW (never an existing file, never through a
 * symlink), relative to the directory opened once, and is then renamed
 * over the target. A target that exists and is not a regular file
 * (symlink, FIFO, device node, directory) is refused, and at the end the
 * target is removed only if it is still the file we put there. */
#ifndef DAXTRACE_TEXTFILE_H
#define DAXTRACE_TEXTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct textfile {
	const char *path;	/* as given, for messages */
	int dirfd;		/* -1: not open */
	char base[256];		/* the name in that directory */
	dev_t dev;		/* the file we last renamed into place */
	ino_t ino;
	bool placed;
};

/* Open path's directory and check that a file can be made there and that
 * path is absent or a regular file. 0, or -1 with one line in err. */
int textfile_open(struct textfile *t, const char *path, char *err, size_t errlen);
/* Replace the file with data (mode 0644, whatever the umask). 0, or -1
 * with why in err (the old file then stays as it was). */
int textfile_replace(struct textfile *t, const char *data, size_t len, char *err, size_t errlen);
/* Remove the file if it is still ours; close the directory. */
void textfile_close(struct textfile *t, bool remove);

#endif
