/* DAX-capable mounts and pmem devices on this machine, for headers,
 * --dev filters and the feature report. */
#ifndef DAXTRACE_MOUNTS_H
#define DAXTRACE_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct dax_mount {
	unsigned int dev;	/* kernel dev_t encoding: major << 20 | minor */
	char source[256];
	char target[256];
	char fstype[64];
	char dax[16];		/* "always", "inode", "dax", "" when not DAX */
};

/* Fill up to max mounts; dax_only keeps only DAX-mounted ones. */
int mounts_read(struct dax_mount *m, int max, bool dax_only);
/* "259:3", "/dev/pmem0" or a mount point -> kernel dev encoding; -1 if unknown. */
long dev_from_spec(const char *spec);
/* Is a DAX filesystem mounted from this device? */
bool dev_is_dax_mounted(unsigned int dev);
/* --dev: a device with a DAX filesystem mounted (MAJ:MIN, /dev/pmemN or a
 * mount point). 0, or -1 with why (for the tool's usage error) filled. */
int parse_dax_dev(const char *spec, long *dev, char *why, size_t len);
/* Comma-separated pmem block devices ("pmem0(1024M,dax)"), "none" if none. */
void pmem_devices(char *buf, size_t len);

static inline unsigned int kdev_major(unsigned int d) { return d >> 20; }
static inline unsigned int kdev_minor(unsigned int d) { return d & 0xfffff; }
static inline unsigned int kdev_make(unsigned int ma, unsigned int mi) { return ma << 20 | mi; }
/* "MAJ:MIN", as every tool prints a device. */
static inline void kdev_str(unsigned int d, char *buf, size_t len)
{
	snprintf(buf, len, "%u:%u", kdev_major(d), kdev_minor(d));
}

#endif
