/* daxleak on kernels without bpf_loop or bpf_get_func_arg (5.10-era):
 * which program variants load, and the 5.10 put hooks. */
#ifndef DAXTRACE_DAXLEAK_COMPAT_H
#define DAXTRACE_DAXLEAK_COMPAT_H

#include "daxleak_int.h"

struct daxleak_bpf;

/* The 5.10 put hooks (put_devmap_managed_page, put_compound_head). */
void leak_compat_fill(struct hook *h, struct daxleak_bpf *s);
/* Before probe_select: pick the no-bpf_loop variants and drop fentry where
 * the kernel lacks those helpers (feature probes, bpf_caps.h). */
void leak_compat_select(struct hook *h, struct daxleak_bpf *s);
/* After probe_select: say why a hook is a kprobe where fentry was dropped. */
void leak_compat_notes(struct hook *h);

#endif
