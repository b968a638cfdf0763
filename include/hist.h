/* Log2 histogram layout shared by BPF programs and user space. */
#ifndef DAXTRACE_HIST_H
#define DAXTRACE_HIST_H

#define HIST_SLOTS 40	/* slot i counts values in [2^(i-1), 2^i) */

struct hist {
	unsigned int slots[HIST_SLOTS];
};

#endif
