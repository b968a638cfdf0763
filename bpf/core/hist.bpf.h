/* BPF side of log2 histograms (layout in include/hist.h). */
#ifndef DAXTRACE_HIST_BPF_H
#define DAXTRACE_HIST_BPF_H

#include "hist.h"

/* All 64-bit: a u32 detour makes clang 14 check a copy of the index, which
 * the 6.1 verifier cannot relate to the register used for the access. */
static __always_inline __u64 log2_slot(__u64 v)
{
	__u64 r = 0;

	/* Branch-light log2; r ends as floor(log2(v)) + 1, 0 for v == 0. */
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8)  { v >>= 8;  r += 8; }
	if (v >> 4)  { v >>= 4;  r += 4; }
	if (v >> 2)  { v >>= 2;  r += 2; }
	if (v >> 1)  { v >>= 1;  r += 1; }
	return r + v;
}

/* The slot of v. A global function: the verifier checks it once per
 * program instead of following every path of log2_slot at each call site
 * (2^6 paths, times the states of the caller). Scalar argument and result
 * only: kernels before 5.12 reject a global function that takes a pointer. */
__noinline __u64 hist_slot(__u64 v)
{
	return log2_slot(v);
}

static __always_inline void hist_add(struct hist *h, __u64 v)
{
	/* the verifier knows nothing of a global function's result: clamp */
	__u64 s = hist_slot(v);

	if (s >= HIST_SLOTS)
		s = HIST_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[s], 1);
}

#endif
