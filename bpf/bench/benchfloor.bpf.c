// SPDX-License-Identifier: GPL-2.0
/* benchfloor: the cost floor for tools/bench. Nothing but one atomic add per
 * fs_dax event, on the same tracepoints daxtop attaches, once as classic
 * tracepoints (daxtop's default) and once as BTF tracepoints (daxleak's). Its bpf_stats
 * run_time_ns/run_cnt is what "counting the event" costs at the least; the
 * tools' per-event cost is compared against it in the same boot. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Index order is the loader's name table (src/bench/bench_floor.c). */
enum {
	FL_PTE_FAULT, FL_PTE_DONE, FL_PMD_FAULT, FL_PMD_DONE, FL_MKWRITE,
	FL_LOAD_HOLE, FL_PMD_HOLE, FL_WRITEBACK,
	FLB_PTE_FAULT, FLB_PTE_DONE, FLB_PMD_FAULT, FLB_PMD_DONE, FLB_MKWRITE,
	FLB_LOAD_HOLE, FLB_PMD_HOLE, FLB_WRITEBACK,
	FL_NR
};

__u64 floor_hits[FL_NR] = {};

#define FLOOR_TP(ev, name, idx)						\
SEC("tracepoint/fs_dax/" #ev)						\
int name(void *ctx)							\
{									\
	__sync_fetch_and_add(&floor_hits[idx], 1);			\
	return 0;							\
}

/* Program names stay under 16 bytes: the kernel keeps 15 characters. */
FLOOR_TP(dax_pte_fault, fl_pte_fault, FL_PTE_FAULT)
FLOOR_TP(dax_pte_fault_done, fl_pte_done, FL_PTE_DONE)
FLOOR_TP(dax_pmd_fault, fl_pmd_fault, FL_PMD_FAULT)
FLOOR_TP(dax_pmd_fault_done, fl_pmd_done, FL_PMD_DONE)
FLOOR_TP(dax_insert_pfn_mkwrite, fl_mkwrite, FL_MKWRITE)
FLOOR_TP(dax_load_hole, fl_load_hole, FL_LOAD_HOLE)
FLOOR_TP(dax_pmd_load_hole, fl_pmd_hole, FL_PMD_HOLE)
FLOOR_TP(dax_writeback_one, fl_writeback, FL_WRITEBACK)

/* The same eight events as BTF (raw) tracepoints: what the raw tracepoint
 * path costs against the classic (perf-buffer) one. */
#define FLOOR_BTF(ev, name, idx)					\
SEC("tp_btf/" #ev)							\
int name(void *ctx)							\
{									\
	__sync_fetch_and_add(&floor_hits[idx], 1);			\
	return 0;							\
}

FLOOR_BTF(dax_pte_fault, flb_pte_fault, FLB_PTE_FAULT)
FLOOR_BTF(dax_pte_fault_done, flb_pte_done, FLB_PTE_DONE)
FLOOR_BTF(dax_pmd_fault, flb_pmd_fault, FLB_PMD_FAULT)
FLOOR_BTF(dax_pmd_fault_done, flb_pmd_done, FLB_PMD_DONE)
FLOOR_BTF(dax_insert_pfn_mkwrite, flb_mkwrite, FLB_MKWRITE)
FLOOR_BTF(dax_load_hole, flb_load_hole, FLB_LOAD_HOLE)
FLOOR_BTF(dax_pmd_load_hole, flb_pmd_hole, FLB_PMD_HOLE)
FLOOR_BTF(dax_writeback_one, flb_writeback, FLB_WRITEBACK)

/* ---- ablation (bench-floor --ablate): the pieces of daxtop's fault path one
 * by one on dax_pte_fault / dax_pte_fault_done, so bpf_stats shows what each
 * costs next to the bare count. Not loaded unless asked for. */
struct ab_key {
	__u32 pid, dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} ab_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} ab_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} ab_task SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ab_key);
	__type(value, __u64);
} ab_rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ab_key);
	__type(value, __u64);
} ab_files SEC(".maps");

__u64 ab_sink = 0;

#define AB_CTX struct trace_event_raw_dax_pte_fault_class

SEC("tracepoint/fs_dax/dax_pte_fault")
int ab_ktime(AB_CTX *ctx)
{
	ab_sink += bpf_ktime_get_ns();
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault")
int ab_lru_upd(AB_CTX *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = 1;

	bpf_map_update_elem(&ab_lru, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault_done")
int ab_lru_del(AB_CTX *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *v = bpf_map_lookup_elem(&ab_lru, &tid);

	if (v) {
		ab_sink += *v;
		bpf_map_delete_elem(&ab_lru, &tid);
	}
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault")
int ab_hash_upd(AB_CTX *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 now = 1;

	bpf_map_update_elem(&ab_hash, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault_done")
int ab_hash_del(AB_CTX *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *v = bpf_map_lookup_elem(&ab_hash, &tid);

	if (v) {
		ab_sink += *v;
		bpf_map_delete_elem(&ab_hash, &tid);
	}
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault")
int ab_task_set(AB_CTX *ctx)
{
	__u64 *v = bpf_task_storage_get(&ab_task, bpf_get_current_task_btf(), 0,
					BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (v)
		*v = 1;
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault_done")
int ab_task_get(AB_CTX *ctx)
{
	__u64 *v = bpf_task_storage_get(&ab_task, bpf_get_current_task_btf(), 0, 0);

	if (v) {
		ab_sink += *v;
		*v = 0;
	}
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault")
int ab_files_look(AB_CTX *ctx)
{
	struct ab_key k = { .dev = ctx->dev, .ino = ctx->ino };

	if (!bpf_map_lookup_elem(&ab_files, &k)) {
		__u64 z = 0;

		bpf_map_update_elem(&ab_files, &k, &z, BPF_NOEXIST);
	}
	return 0;
}

SEC("tracepoint/fs_dax/dax_pte_fault_done")
int ab_row_add(AB_CTX *ctx)
{
	struct ab_key k = { .pid = bpf_get_current_pid_tgid() >> 32, .dev = ctx->dev,
			    .ino = ctx->ino };
	__u64 *v = bpf_map_lookup_elem(&ab_rows, &k);

	if (!v) {
		__u64 z = 0;

		bpf_map_update_elem(&ab_rows, &k, &z, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&ab_rows, &k);
		if (!v)
			return 0;
	}
	__sync_fetch_and_add(v, 1);
	return 0;
}

/* ---- the GUP path (bench-floor --gup): the least any hook on it costs ----
 * An empty-but-counting fexit on the two entry points O_DIRECT and vmsplice
 * take, where daxleak's acquisition programs sit: daxleak's cost on ordinary
 * I/O is compared against it in the same boot. */
__u64 gup_floor_calls = 0;

SEC("fexit/pin_user_pages_fast")
int gf_pin_fast(void *ctx)
{
	__sync_fetch_and_add(&gup_floor_calls, 1);
	return 0;
}

SEC("fexit/get_user_pages_fast")
int gf_get_fast(void *ctx)
{
	__sync_fetch_and_add(&gup_floor_calls, 1);
	return 0;
}
