/* daxleak --now on kernels without bpf_loop (5.10; it came in 5.17): the
 * scan's steps (walk_bucket, stack_step, cls_step, pipe_step in
 * scan.bpf.c) run from bounded loops instead of bpf_loop. Each step sits in
 * a global function, which the verifier checks once, apart from its
 * callers: a loop of calls then costs the verifier a few instructions per
 * call, so 5.10's limits (1M instructions processed, 8192 pending branches)
 * allow the whole kernel stack and 4096 pipe steps (in chunks of 64 calls,
 * see NL_CHUNK). A global function takes
 * only scalars, so the step contexts live in a per-CPU map (the iterators
 * run with migration disabled). Included at the end of scan.bpf.c. */
#ifndef DAXTRACE_SCAN_NOLOOP_BPF_H
#define DAXTRACE_SCAN_NOLOOP_BPF_H

#define NL_STACK_WORDS	(THREAD_SIZE_ / 8)	/* the whole stack, as the bpf_loop scan */

/* pipe buffers not examined because of DN_NOLOOP_PIPE_STEPS (said by user space) */
__u64 pipe_bufs_cut = 0;

struct nl_ctx {
	struct walk_ctx walk;
	struct stack_ctx stack;
	struct pipe_ctx pipe;
	__u32 cls;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nl_ctx);
} nl_cpu SEC(".maps");

static __always_inline struct nl_ctx *nl_ctx(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&nl_cpu, &zero);
}

/* The steps, one call each; nonzero stops the walk as from a bpf_loop
 * callback. */
__noinline int nl_bucket(__u32 i)
{
	struct nl_ctx *c = nl_ctx();

	return c ? walk_bucket(i, &c->walk) : 1;
}

__noinline int nl_stack_word(__u32 i)
{
	struct nl_ctx *c = nl_ctx();

	return c ? stack_step(i, &c->stack) : 1;
}

/* Frame i of the record in scratch against every range. */
__noinline int nl_frame(__u32 i)
{
	struct nl_ctx *c = nl_ctx();
	__u32 zero = 0;
	struct cls_ctx cc = { .r = bpf_map_lookup_elem(&scratch, &zero) };

	if (!c || !cc.r)
		return 1;
	cls_step(i, &cc);
	c->cls |= cc.cls;
	return 0;
}

__noinline int nl_pipe_step(__u32 i)
{
	struct nl_ctx *c = nl_ctx();

	return c ? pipe_step(i, &c->pipe) : 1;
}

/* Steps k * NL_CHUNK .. (k + 1) * NL_CHUNK - 1 below `limit`, 1 when the
 * walk is over. Chunks keep the verifier's work linear: a flat loop of N
 * calls leaves it N states at the loop head to compare each new one with
 * (4096 pipe steps took 10 s to load on 5.10 under emulation); this way
 * each loop has at most 64 iterations. */
#define NL_CHUNK	64
#define NL_CHUNK_FN(name, step)							\
__noinline int name(__u32 k, __u32 limit)					\
{										\
	for (__u32 j = 0; j < NL_CHUNK; j++) {					\
		__u32 i = k * NL_CHUNK + j;					\
										\
		if (i >= limit || step(i))					\
			return 1;						\
	}									\
	return 0;								\
}
NL_CHUNK_FN(nl_bucket_chunk, nl_bucket)
NL_CHUNK_FN(nl_stack_chunk, nl_stack_word)
NL_CHUNK_FN(nl_pipe_chunk, nl_pipe_step)

/* Steps 0 .. limit - 1 (limit <= n, a multiple of NL_CHUNK) until one
 * ends the walk. */
#define NL_WALK(chunk, n, limit)						\
	do {									\
		for (__u32 k_ = 0; k_ < (n) / NL_CHUNK; k_++)			\
			if (chunk(k_, limit))					\
				break;						\
	} while (0)

static __always_inline __u32 classify_noloop(struct dn_task_rec *r)
{
	struct nl_ctx *c = nl_ctx();
	__u32 n = r->nframes;

	if (!c)
		return 0;
	c->cls = 0;
	for (__u32 i = 0; i < DN_STACK_DEPTH; i++)
		if (i >= n || nl_frame(i))
			break;
	return c->cls;
}

/* As find_wait: bit_wait_table's buckets when its address is known, else
 * (or when not found there) the task's whole kernel stack. */
static __always_inline void find_wait_noloop(struct task_struct *task, struct dn_task_rec *r)
{
	struct nl_ctx *c = nl_ctx();
	__u32 words = thread_size / 8;
	__u64 wbq = 0;

	r->bucket = -1;
	if (!c)
		return;
	if (bit_wait_table_addr) {
		c->walk = (struct walk_ctx){ .task = (__u64)task, .found_bucket = -1 };
		NL_WALK(nl_bucket_chunk, DN_BUCKETS, DN_BUCKETS);
		if (c->walk.wbq) {
			wbq = c->walk.wbq;
			r->via = DN_VIA_BUCKET;
			r->bucket = c->walk.found_bucket;
		}
	}
	if (!wbq) {
		c->stack = (struct stack_ctx){ .task = (__u64)task };
		c->stack.base = (__u64)BPF_CORE_READ(task, stack);
		if (c->stack.base)
			NL_WALK(nl_stack_chunk, NL_STACK_WORDS, words);
		if (c->stack.wbq) {
			wbq = c->stack.wbq;
			r->via = DN_VIA_STACK;
		}
	}
	read_wait_entry(wbq, r);
}

/* Every (buffer, target) pair of the pipe's first n buffers, up to
 * DN_NOLOOP_PIPE_STEPS; the buffers left out are counted. Returns the buffers
 * examined. */
static __always_inline __u32 pipe_walk_noloop(struct pipe_ctx *p, __u32 n)
{
	struct nl_ctx *c = nl_ctx();
	__u32 nt = p->nt ? p->nt : 1, bufs = n, steps;

	if (!c)
		return 0;
	if (bufs > DN_NOLOOP_PIPE_STEPS / nt) {
		bufs = DN_NOLOOP_PIPE_STEPS / nt;
		__sync_fetch_and_add(&pipe_bufs_cut, n - bufs);
	}
	steps = bufs * nt;
	c->pipe = *p;
	NL_WALK(nl_pipe_chunk, DN_NOLOOP_PIPE_STEPS, steps);
	*p = c->pipe;
	return bufs;
}

SEC("iter/task")
int scan_tasks_noloop(struct bpf_iter__task *ctx)
{
	return scan_task(ctx, true, true);
}

SEC("iter/task")
int scan_tasks_cur_noloop(struct bpf_iter__task *ctx)
{
	return scan_task(ctx, false, true);
}

SEC("iter/task_file")
int scan_pipes_noloop(struct bpf_iter__task_file *ctx)
{
	return scan_pipe(ctx, true);
}

#endif
