/* Whole-file replacement of a file others read; see textfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "textfile.h"
#include "util.h"

/* 0 if the target is absent or a regular file, else -1 with why. */
static int target_ok(const struct textfile *t, struct stat *st, char *err, size_t errlen)
{
	if (fstatat(t->dirfd, t->base, st, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot write textfile %s: %s", t->path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st->st_mode))
		return 0;
	snprintf(err, errlen, "textfile %s is %s: give the path of a regular file (NAME.prom)",
		 t->path, S_ISDIR(st->st_mode) ? "a directory" : S_ISLNK(st->st_mode) ?
		 "a symbolic link, not replaced" : "not a regular file (FIFO, socket or device), "
		 "not replaced");
	return -1;
}

/* A new file of a name nobody chose: ".NAME.XXXXXXXX" (node_exporter reads
 * only *.prom). Never opens what exists, so never follows a planted link. */
static int create_temp(struct textfile *t, char *name, size_t len)
{
	for (int attempt = 0; attempt < 32; attempt++) {
		uint32_t r;
		int fd;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
			r = (uint32_t)(mono_ns() ^ ((uint64_t)getpid() << 16)) + attempt;
		snprintf(name, len, ".%s.%08x", t->base, r);
		fd = openat(t->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
	}
	return 0;
}

int textfile_replace(struct textfile *t, const char *data, size_t len, char *err, size_t errlen)
{
	char name[sizeof(t->base) + 16];
	struct stat st;
	int fd, e;

	if (target_ok(t, &st, err, errlen))
		return -1;
	fd = create_temp(t, name, sizeof(name));
	if (fd < 0)
		goto fail;
	/* on our own descriptor: node_exporter often runs as another user */
	if (fchmod(fd, 0644) || write_all(fd, data, len) || fsync(fd) || fstat(fd, &st)) {
		e = errno;
		close(fd);
		errno = e;
		goto fail_tmp;
	}
	if (close(fd) || renameat(t->dirfd, name, t->dirfd, t->base))
		goto fail_tmp;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->placed = true;
	return 0;
fail_tmp:
	e = errno;
	unlinkat(t->dirfd, name, 0);
	errno = e;
fail:
	snprintf(err, errlen, "cannot write textfile %s: %s", t->path, strerror(errno));
	return -1;
}

int textfile_open(struct textfile *t, const char *path, char *err, size_t errlen)
{
	char dir[4096], base[4096], name[sizeof(t->base) + 16];
	const char *b;
	struct stat st;
	int fd;

	memset(t, 0, sizeof(*t));
	t->path = path;
	t->dirfd = -1;
	if (strlen(path) >= sizeof(dir)) {
		snprintf(err, errlen, "textfile path too long: %.64s...", path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	b = basename(base);
	if (path[strlen(path) - 1] == '/' || !strcmp(b, ".") || !strcmp(b, "..")) {
		snprintf(err, errlen, "textfile %s is a directory: give a file name (NAME.prom)", path);
		return -1;
	}
	if (strlen(b) >= sizeof(t->base) - 16) {
		snprintf(err, errlen, "textfile name too long: %s", path);
		return -1;
	}
	snprintf(t->base, sizeof(t->base), "%s", b);
	t->dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->dirfd < 0) {
		snprintf(err, errlen, "cannot write textfile %s: %s", path, strerror(errno));
		return -1;
	}
	if (target_ok(t, &st, err, errlen))
		goto fail;
	/* can a file be made there? (read-only fs, permissions) */
	fd = create_temp(t, name, sizeof(name));
	if (fd < 0) {
		snprintf(err, errlen, "cannot write textfile %s: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	unlinkat(t->dirfd, name, 0);
	return 0;
fail:
	close(t->dirfd);
	t->dirfd = -1;
	return -1;
}

void textfile_close(struct textfile *t, bool remove)
{
	struct stat st;

	if (!t->path || t->dirfd < 0)	/* never opened */
		return;
	/* Only what we put there: not a file someone has put in its place since. */
	if (remove && t->placed && !fstatat(t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISREG(st.st_mode) && st.st_dev == t->dev && st.st_ino == t->ino)
		unlinkat(t->dirfd, t->base, 0);
	close(t->dirfd);
	t->dirfd = -1;
}
