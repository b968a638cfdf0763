#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mounts.h"
#include "paths.h"

#define PATH_CACHE 1024

struct path_entry {
	uint32_t dev;
	uint64_t ino;
	char *path;
};

static struct path_entry cache[PATH_CACHE];
static int cache_n, cache_next;

static const char *cache_find(uint32_t dev, uint64_t ino)
{
	for (int i = 0; i < cache_n; i++)
		if (cache[i].dev == dev && cache[i].ino == ino)
			return cache[i].path;
	return NULL;
}

static const char *cache_put(uint32_t dev, uint64_t ino, const char *path)
{
	struct path_entry *e = &cache[cache_next];

	/* Round-robin replacement keeps the cache bounded. */
	free(e->path);
	e->dev = dev;
	e->ino = ino;
	e->path = strdup(path);
	cache_next = (cache_next + 1) % PATH_CACHE;
	if (cache_n < PATH_CACHE)
		cache_n++;
	return e->path;
}

/* maps escapes a newline in a name as "\012" and leaves a backslash
 * alone (ambiguous): the vma's map_files link has the name as it is
 * (root only), else the maps text. */
static const char *exact_path(uint32_t pid, const char *line, const char *fallback)
{
	static char buf[4200];
	char fn[96];
	ssize_t n;
	size_t r = strcspn(line, " ");

	if (r >= 64)
		return fallback;
	snprintf(fn, sizeof(fn), "/proc/%u/map_files/%.*s", pid, (int)r, line);
	n = readlink(fn, buf, sizeof(buf) - 1);
	if (n <= 0)
		return fallback;
	buf[n] = '\0';
	return buf;
}

static const char *scan_maps(uint32_t pid, uint32_t dev, uint64_t ino)
{
	char fn[64], line[4200];
	FILE *f;
	const char *res = NULL;

	snprintf(fn, sizeof(fn), "/proc/%u/maps", pid);
	f = fopen(fn, "r");
	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned int ma, mi;
		unsigned long long i;
		int off = 0;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu %n", &ma, &mi, &i, &off) < 3 || !off)
			continue;
		if (i != ino || kdev_make(ma, mi) != dev)
			continue;
		line[strcspn(line, "\n")] = 0;
		res = cache_put(dev, ino, exact_path(pid, line, line + off));
		break;
	}
	fclose(f);
	return res;
}

const char *path_lookup(uint32_t pid, uint32_t dev, uint64_t ino)
{
	const char *p = cache_find(dev, ino);

	return p ? p : (pid ? scan_maps(pid, dev, ino) : NULL);
}

/* One text line per row: a newline in a name is written as /proc/PID/maps
 * writes it (\012); JSON writers take the exact name. */
void path_text(const char *path, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (; *path && used + 1 < len; path++)
		used += snprintf(buf + used, len - used, *path == '\n' ? "\\012" : "%c", *path);
}

void path_label(uint32_t pid, uint32_t dev, uint64_t ino, char *buf, size_t len)
{
	const char *p = path_lookup(pid, dev, ino);

	if (p)
		path_text(p, buf, len);
	else
		snprintf(buf, len, "dev %u:%u ino %llu", kdev_major(dev), kdev_minor(dev),
			 (unsigned long long)ino);
}

void paths_clear(void)
{
	for (int i = 0; i < cache_n; i++) {
		free(cache[i].path);
		cache[i].path = NULL;
	}
	cache_n = cache_next = 0;
}

bool path_known(uint32_t dev, uint64_t ino)
{
	return cache_find(dev, ino) != NULL;
}

void path_learn(uint32_t dev, uint64_t ino, const char *path)
{
	if (!cache_find(dev, ino))
		cache_put(dev, ino, path);
}

void mount_point_of(uint32_t dev, char *buf, size_t len)
{
	/* Mounts change rarely: re-read the table at most once a second. */
	static struct dax_mount m[64];
	static int n;
	static time_t read_at;
	time_t now = time(NULL);

	if (now != read_at) {
		n = mounts_read(m, 64, false);
		read_at = now;
	}
	buf[0] = 0;
	for (int i = 0; i < n; i++)
		if (m[i].dev == dev) {
			snprintf(buf, len, "%s", strcmp(m[i].target, "/") ? m[i].target : "");
			return;
		}
}
