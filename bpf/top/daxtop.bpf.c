// SPDX-License-Identifier: GPL-2.0
/* daxtop: count DAX faults, fallbacks, holes, writeback, unmaps and
 * break_layouts waits per (process, file), aggregated in maps so the
 * default view sends nothing per event to user space. */
#include "dax_common.bpf.h"
#include "hist.bpf.h"
#include "daxtop.h"

const volatile __u32 targ_tgid = 0;
const volatile __u64 targ_cgroup = 0;
const volatile __u32 targ_dev = 0;
const volatile bool lat_all = false;	/* --lat-all: time every fault */
/* Fault programs run with preemption off: a CPU may gather a row's counts in
 * its fault slot (include/daxtop.h). */
const volatile bool row_cache = false;

/* CLOCK_MONOTONIC as user space last published it (each snapshot): rows
 * take their last-activity time from here instead of reading the clock. */
__u64 clock_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);	/* resized by --max-rows */
	__type(key, struct daxtop_key);
	__type(value, struct daxtop_row);
} rows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_slot);
} fault_start SEC(".maps");

/* DAX files seen faulting, by (dev, ino) with pid 0, and their names once
 * known: the unmap hook only counts these, user space prints paths. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);	/* set to --max-rows */
	__type(key, struct daxtop_key);
	__type(value, struct daxtop_file);
} files SEC(".maps");

/* A thread between its first busy page and the end of break_layouts. */
struct wait_state {
	__u64 start_ns;
	struct daxtop_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct wait_state);
} bl_wait SEC(".maps");

/* Saved argument of dax_layout_busy_page_range for the kretprobe path. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} busy_arg SEC(".maps");

struct hist hists[H_NR] = {};
__u64 fallback_reasons[FB_NR] = {};
__u64 drops[DROP_NR] = {};

/* The programs and their helpers, in parts with one job each; the order
 * matters (each part uses the ones before it). */
#include "rows.bpf.h"
#include "fault_slot.bpf.h"
#include "fallback.bpf.h"
#include "tracepoints.bpf.h"
#include "unmaps.bpf.h"
#include "fallback_mapping.bpf.h"
#include "waits.bpf.h"
