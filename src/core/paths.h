/* (dev, inode) -> path, learned from /proc/PID/maps of processes that map
 * the file, cached so rows keep their path after the process exits. */
#ifndef DAXTRACE_PATHS_H
#define DAXTRACE_PATHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Path of the file, or NULL if no live mapping names it. */
const char *path_lookup(uint32_t pid, uint32_t dev, uint64_t ino);
/* path for one line of text: a newline written as \012 (as in /proc/PID/maps). */
void path_text(const char *path, char *buf, size_t len);
/* A one-line text label: the path, a newline written as \012, or "dev M:N ino I". */
void path_label(uint32_t pid, uint32_t dev, uint64_t ino, char *buf, size_t len);
void paths_clear(void);
/* Is (dev, ino) in the cache already? */
bool path_known(uint32_t dev, uint64_t ino);
/* Teach the cache a path found some other way (e.g. dentry names from BPF). */
void path_learn(uint32_t dev, uint64_t ino, const char *path);
/* Mount point of a device, "" if none found (cached per call site). */
void mount_point_of(uint32_t dev, char *buf, size_t len);

#endif
