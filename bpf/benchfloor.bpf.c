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

/* Index order is the loader's name table (src/bench_floor.c). */
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
