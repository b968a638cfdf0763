/* The file under test: open/create, identity (dev, ino), DAX state from
 * statx plus the mount's dax option, block allocation. */
#include "daxload.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif
#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif
#ifndef EROFS_SUPER_MAGIC_V1
#define EROFS_SUPER_MAGIC_V1 0xE0F5E1E2
#endif
#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

/* Undo the octal escapes (\040) that /proc/self/mountinfo uses. */
static void unescape_mnt(char *s)
{
	char *w = s;

	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] && r[3]) {
			*w++ = (char)(((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

/* dax, dax=always, dax=inode, dax=never in a comma list, else NULL. */
static const char *dax_opt(const char *opts)
{
	const char *p = opts;

	while (p && *p) {
		size_t n = strcspn(p, ",");

		if (n == 3 && !strncmp(p, "dax", 3))
			return "always";
		if (n > 4 && !strncmp(p, "dax=", 4)) {
			if (!strncmp(p + 4, "always", n - 4) && n - 4 == 6)
				return "always";
			if (!strncmp(p + 4, "inode", n - 4) && n - 4 == 5)
				return "inode";
			if (!strncmp(p + 4, "never", n - 4) && n - 4 == 5)
				return "never";
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

/* Find the mount holding `path` on device maj:min (longest matching
 * mount point) and take its fstype and dax option. */
static void mount_info(const char *path, unsigned maj, unsigned min,
		       char *fs, size_t fslen, char *mdax, size_t mdlen)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	size_t best = 0;

	if (!fp)
		return;
	while (fgets(line, sizeof(line), fp)) {
		char mnt[4096], opts[2048], fstype[64], src[1024], sopts[2048];
		unsigned ma, mi;
		char *sep;
		size_t ml;

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s %2047s", &ma, &mi, mnt, opts) != 4)
			continue;
		if (ma != maj || mi != min)
			continue;
		sep = strstr(line, " - ");
		sopts[0] = '\0';
		if (!sep || sscanf(sep + 3, "%63s %1023s %2047s", fstype, src, sopts) < 1)
			continue;
		unescape_mnt(mnt);
		ml = strlen(mnt);
		if (strncmp(path, mnt, ml) ||
		    (ml > 1 && path[ml] != '/' && path[ml] != '\0'))
			continue;
		if (ml < best)
			continue;
		best = ml;
		snprintf(fs, fslen, "%s", fstype);
		const char *d = dax_opt(sopts);

		if (!d)
			d = dax_opt(opts);
		snprintf(mdax, mdlen, "%s", d ? d : "none");
	}
	fclose(fp);
}

static const char *fs_from_magic(long type)
{
	switch ((unsigned long)type) {
	case EXT4_SUPER_MAGIC: return "ext4";
	case XFS_SUPER_MAGIC: return "xfs";
	case TMPFS_MAGIC: return "tmpfs";
	case BTRFS_SUPER_MAGIC: return "btrfs";
	case EROFS_SUPER_MAGIC_V1: return "erofs";
	case FUSE_SUPER_MAGIC: return "fuse";
	case NFS_SUPER_MAGIC: return "nfs";
	case OVERLAYFS_SUPER_MAGIC: return "overlay";
	default: return "unknown";
	}
}

/* Fill identity and DAX state from a statx result. */
static void fill_from_statx(struct dfile *f, const struct statx *stx,
			    int fd, const char *path)
{
	struct statfs sfs;

	f->dev_major = stx->stx_dev_major;
	f->dev_minor = stx->stx_dev_minor;
	f->ino = stx->stx_ino;
	f->size = stx->stx_size;
	f->dax_attr_known = (stx->stx_attributes_mask & STATX_ATTR_DAX) != 0;
	snprintf(f->fs, sizeof(f->fs), "unknown");
	/* "unknown" until the mount is found in mountinfo */
	snprintf(f->mnt_dax, sizeof(f->mnt_dax), "unknown");
	mount_info(f->path, f->dev_major, f->dev_minor, f->fs, sizeof(f->fs),
		   f->mnt_dax, sizeof(f->mnt_dax));
	if (!strcmp(f->fs, "unknown") &&
	    ((fd >= 0 && fstatfs(fd, &sfs) == 0) || (fd < 0 && statfs(path, &sfs) == 0)))
		snprintf(f->fs, sizeof(f->fs), "%s", fs_from_magic((long)sfs.f_type));
	if (f->dax_attr_known)
		f->dax = (stx->stx_attributes & STATX_ATTR_DAX) != 0;
	else	/* kernel < 5.8 has no per-file flag: trust dax=always/dax */
		f->dax = !strcmp(f->mnt_dax, "always");
}

static void set_path(struct dfile *f, const char *path)
{
	char abs[PATH_MAX];

	if (realpath(path, abs))
		snprintf(f->path, sizeof(f->path), "%s", abs);
	else
		snprintf(f->path, sizeof(f->path), "%s", path);
}

int dfile_refresh(struct dfile *f)
{
	struct statx stx;

	if (statx(f->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx) < 0) {
		errsys(errno, "statx");
		return -1;
	}
	fill_from_statx(f, &stx, f->fd, f->path);
	return 0;
}

int dfile_open(struct dfile *f, const char *path, int flags)
{
	char what[4200];

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	snprintf(what, sizeof(what), "open %s", path);
	if (!(flags & DF_EXCL)) {
		f->fd = open(path, O_RDWR | O_CLOEXEC);
		if (f->fd < 0 && (errno != ENOENT || !(flags & DF_CREATE))) {
			errsys(errno, what);
			return -1;
		}
	}
	if (f->fd < 0) {
		f->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (f->fd < 0) {
			errsys(errno, what);
			return -1;
		}
		f->created = true;
		/* 0644 regardless of the caller's umask, as documented. */
		if (fchmod(f->fd, 0644) < 0) {
			/* not fatal: the file works, mode is cosmetic */
		}
	}
	set_path(f, path);
	if (dfile_refresh(f) < 0)
		return -1;
	return 0;
}

int dfile_require_dax(struct dfile *f, bool allow_non_dax)
{
	if (f->dax || allow_non_dax)
		return 0;
	if (!strcmp(f->mnt_dax, "none"))
		errmsg("not a DAX file", "%s (fs=%s, dev=%u:%u) has no STATX_ATTR_DAX and its "
		       "mount has no dax option; mount a pmem fsdax device with -o dax "
		       "(ext4) or -o dax=always (xfs), or pass --allow-non-dax for a "
		       "negative control", f->path, f->fs, f->dev_major, f->dev_minor);
	else if (!strcmp(f->mnt_dax, "inode"))
		errmsg("not a DAX file", "%s is on a dax=inode mount but has no DAX flag; "
		       "set it on the directory before creating files (xfs_io -c 'chattr "
		       "+x' DIR) or pass --allow-non-dax", f->path);
	else
		errmsg("not a DAX file", "%s (fs=%s, mount dax=%s) has no STATX_ATTR_DAX; "
		       "check that the block device supports DAX (fsdax mode, "
		       "/sys/block/pmemN/queue/dax = 1) or pass --allow-non-dax",
		       f->path, f->fs, f->mnt_dax);
	return -1;
}

int dfile_allocate(struct dfile *f, uint64_t end)
{
	int r;

	do
		r = fallocate(f->fd, 0, 0, (off_t)end);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
		/* No fallocate (rare): at least make the size right. */
		if ((uint64_t)f->size < end && ftruncate(f->fd, (off_t)end) < 0) {
			errsys(errno, "ftruncate (fallocate unsupported)");
			return -1;
		}
		r = 0;
	}
	if (r < 0) {
		char what[128];

		snprintf(what, sizeof(what), "fallocate %llu bytes", (unsigned long long)end);
		errsys(errno, what);
		return -1;
	}
	return dfile_refresh(f);
}

int dfile_phys_2m(struct dfile *f, uint64_t off)
{
	struct {
		struct fiemap fm;
		struct fiemap_extent ext[1];
	} q;

	memset(&q, 0, sizeof(q));
	q.fm.fm_start = off;
	q.fm.fm_length = PAGE_4K;
	/* No FIEMAP_FLAG_SYNC: it would write back dirty DAX entries from
	 * earlier runs and that writeback would be charged to this pid. */
	q.fm.fm_flags = 0;
	q.fm.fm_extent_count = 1;
	if (ioctl(f->fd, FS_IOC_FIEMAP, &q.fm) < 0 || q.fm.fm_mapped_extents < 1)
		return -1;
	/* Physical address of `off` must share its 2 MiB colour. */
	uint64_t phys = q.ext[0].fe_physical + (off - q.ext[0].fe_logical);

	return (phys % SIZE_2M) == (off % SIZE_2M);
}

void dfile_close(struct dfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

int path_check(const char *path, struct dfile *f)
{
	struct statx stx;
	char what[4200];

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &stx) < 0) {
		snprintf(what, sizeof(what), "statx %s", path);
		errsys(errno, what);
		return -1;
	}
	set_path(f, path);
	fill_from_statx(f, &stx, -1, path);
	return 0;
}

/* Open or create PATH, refuse it unless DAX (removing a file we just
 * created for nothing), then allocate [0, end). */
int dfile_setup(struct dfile *f, const char *path, uint64_t end, bool allow_non_dax,
		int flags)
{
	if (dfile_open(f, path, flags | DF_CREATE) < 0)
		return -1;
	if (dfile_require_dax(f, allow_non_dax) < 0) {
		if (f->created)
			unlink(f->path);
		dfile_close(f);
		return -1;
	}
	if (end && dfile_allocate(f, end) < 0) {
		if (f->created)
			unlink(f->path);
		dfile_close(f);
		return -1;
	}
	return 0;
}

/* blocks_2m_aligned= value for a mapping of [off, off+len). */
const char *dfile_blocks_2m(struct dfile *f, uint64_t off, uint64_t len)
{
	uint64_t first = (off + SIZE_2M - 1) & ~(uint64_t)(SIZE_2M - 1);

	if (first + SIZE_2M > off + len)
		return "na";	/* no whole 2 MiB chunk in range */
	switch (dfile_phys_2m(f, first)) {
	case 1: return "1";
	case 0: return "0";
	default: return "unknown";
	}
}
