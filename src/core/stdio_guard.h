/* The standard streams, made safe at start and checked at exit.
 *
 * A file descriptor 0-2 closed when we start would be handed to the next
 * open (the CO-RE BTF memfd, a map): output would land in it. Each closed
 * one is reopened on /dev/null first; stdout read-only, so that writing it
 * fails and is reported rather than silently discarded.
 *
 * When stdout cannot be written (disk full, closed, EIO), the first failed
 * write sets `exiting` (streaming tools stop as on a signal) and the process
 * exits 1 with one line naming the error. SIGPIPE keeps its default: a
 * reader that went away (daxtop -b | head) ends us quietly, as usual. */
#ifndef DAXTRACE_STDIO_GUARD_H
#define DAXTRACE_STDIO_GUARD_H

/* Call first in main(). */
void stdio_guard_start(void);

#endif
