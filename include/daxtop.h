/* daxtop: per-process, per-file DAX activity; shared by BPF and user space. */
#ifndef DAXTRACE_DAXTOP_H
#define DAXTRACE_DAXTOP_H

#include "hist.h"

#define DAXTOP_COMM_LEN 16

/* Counters kept per (pid, file) row. */
enum daxtop_counter {
	DT_PTE,		/* PTE faults that completed */
	DT_PMD,		/* PMD faults that mapped 2 MiB */
	DT_PMD_FALLBACK,/* PMD faults that fell back to PTEs */
	DT_WRITE,	/* completed faults with FAULT_FLAG_WRITE */
	DT_MKWRITE,	/* dax_insert_pfn_mkwrite: a MAP_SYNC write fault that
			 * synced metadata first (dax_finish_sync_fault) */
	DT_HOLE,	/* reads of sparse ranges mapped to the zero page */
	DT_WB_PAGES,	/* pages written back by dax_writeback_one */
	DT_UNMAP,	/* zaps of DAX mapping ranges (munmap, truncate, exit) */
	DT_BL_WAITS,	/* break_layouts waits that ended */
	DT_NR_COUNTERS,
};

/* Why a PMD fault fell back, as far as the fault's arguments tell. */
enum daxtop_fallback {
	FB_MISALIGNED,	/* file offset and address differ modulo 2 MiB */
	FB_COW,		/* write to a private mapping */
	FB_VMA_BOUNDS,	/* the 2 MiB range does not fit in the VMA */
	FB_EOF,		/* the 2 MiB range reaches past end of file */
	FB_EXTENT,	/* the filesystem's blocks there are not one 2 MiB-aligned
			 * extent (iomap shorter than 2 MiB, or pfn not aligned) */
	FB_PTE_ENTRY,	/* 4 KiB entries already in the file's 2 MiB range */
	FB_OTHER,	/* anything else, or the PMD fault hook unavailable */
	FB_NR,
};

/* Global histograms, indexed in daxtop's .bss. */
enum daxtop_hist {
	H_PTE_LAT,	/* PTE fault latency, ns */
	H_PMD_LAT,	/* PMD fault latency (including fallbacks), ns */
	H_BL_WAIT,	/* break_layouts wait, ns */
	H_NR,
};

/* Error/overflow counters, never silent. */
enum daxtop_drop {
	DROP_ROW_FULL,		/* row map full: event not attributed */
	DROP_LAT_NO_START,	/* timed fault whose end its CPU did not see */
	DROP_WAIT_FULL,		/* wait-state map full */
	DROP_NR,
};

/* Fault latency sampling: each CPU times about one fault per
 * DAXTOP_LAT_GAP_NS (between half and twice that rate); while it faults
 * slower, every fault. At least 1 in 2^DAXTOP_LAT_MAX_SHIFT faults is
 * timed; --lat-all times every fault. */
#define DAXTOP_LAT_GAP_NS 1000000ULL
#define DAXTOP_LAT_MAX_SHIFT 6

/* Counters a CPU may gather for one row before adding them to it: the
 * fault counters, which come first in enum daxtop_counter. */
#define DAXTOP_PEND_NR (DT_WRITE + 1)

struct daxtop_key {
	unsigned int pid;
	unsigned int dev;	/* kernel dev_t encoding: major << 20 | minor */
	unsigned long long ino;
};

/* Per-CPU state of the fault path (daxtop's fault_start map).
 *
 * The fault being timed on each CPU costs a fraction of a per-thread hash: a
 * timed fault that sleeps while another fault begins on its CPU, or that
 * resumes elsewhere, loses its start and is counted in lat_missed instead of
 * getting a wrong latency.
 *
 * Row cache: a CPU's untimed faults for the row it saw last (ckey) are
 * counted in pend[] instead of the row map, which saves a hash lookup and
 * shared atomics per fault. The counts move to the row when the CPU sees
 * another row (slot zeroed first, row added after); user space reads the
 * rows first and the slots after, adding pend[] to ckey's row, so a count
 * in flight can be late by one snapshot but never counted twice. Only where
 * every fault program runs with preemption off (rodata row_cache). */
struct fault_slot {
	unsigned long long start_ns;	 /* start of the fault being timed, 0 = none */
	unsigned long long last_timed_ns;/* start of the previous timed fault */
	unsigned long long events;	 /* other events counted on this CPU */
	unsigned long long faults;	 /* completed PTE/PMD faults on this CPU */
	unsigned int tid;		 /* thread of start_ns */
	unsigned int rnd;		 /* xorshift32 state of the sampling draw */
	unsigned int shift;		 /* time 1 in 2^shift faults */
	unsigned int pad;
	struct daxtop_key ckey;		 /* row of pend[]; pid 0 = none */
	unsigned long long pend[DAXTOP_PEND_NR];
	char comm[DAXTOP_COMM_LEN];	 /* ckey's process, if its row must be made again */
	unsigned long long pmd_mapping;	 /* address_space of pmd_tid's PMD fault */
	unsigned int pmd_tid;		 /* thread in dax_iomap_pmd_fault on this CPU */
	unsigned int pad2;
};

/* A DAX file's name as seen at its first fault: dentry names from the
 * file up to its filesystem root, so user space can print a path even after
 * the process is gone (prefixing the mount point of dev). */
#define DAXTOP_PATH_DEPTH 6
#define DAXTOP_NAME_LEN 48

struct daxtop_file {
	unsigned int dev;
	unsigned int depth;		/* names filled, basename first */
	unsigned long long ino;
	unsigned int reached_root;	/* 0: deeper than DAXTOP_PATH_DEPTH */
	unsigned int cut;		/* bit i: name[i] is the start of a longer name */
	char name[DAXTOP_PATH_DEPTH][DAXTOP_NAME_LEN];
};

struct daxtop_row {
	unsigned long long cnt[DT_NR_COUNTERS];
	unsigned long long bl_wait_ns;
	unsigned long long bl_wait_max_ns;
	unsigned long long lat_ns;		/* sum of fault latencies */
	unsigned long long first_ns, last_ns;	/* first and last event */
	struct hist lat;			/* fault latency, PTE and PMD */
	char comm[DAXTOP_COMM_LEN];
};

#endif
