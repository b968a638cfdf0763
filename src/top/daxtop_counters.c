/* The one description of daxtop's counters (daxtop_counters.h). */
#include "daxtop_counters.h"

#define NONE -1

const struct daxtop_counter_def daxtop_counters[DT_NR_COUNTERS] = {
	[DT_PTE] = { .header = "PTE", .width = 7, .sort = "pte", .json = "pte",
		.prom = FAM_FAULTS, .prom_type = "pte", .hooks = { HK_PTE_DONE, NONE } },
	[DT_PMD] = { .header = "PMD", .width = 5, .sort = "pmd", .json = "pmd",
		.prom = FAM_FAULTS, .prom_type = "pmd", .hooks = { HK_PMD_DONE, NONE } },
	[DT_PMD_FALLBACK] = { .header = "PMDFB", .width = 5, .sort = "pmdfb", .json = "pmd_fallback",
		.prom = FAM_FAULTS, .prom_type = "pmd_fallback", .hooks = { HK_PMD_DONE, NONE } },
	[DT_WRITE] = { .header = "WRITE", .width = 6, .sort = "write", .json = "write",
		.prom = FAM_WRITES, .hooks = { HK_PTE_DONE, HK_PMD_DONE } },
	[DT_MKWRITE] = { .header = "MKWR", .width = 5, .sort = "mkwr", .json = "mkwrite",
		.prom = FAM_FAULTS, .prom_type = "mkwrite", .hooks = { HK_MKWRITE, NONE } },
	[DT_HOLE] = { .header = "HOLE", .width = 5, .sort = "hole", .json = "hole",
		.prom = FAM_FAULTS, .prom_type = "hole", .hooks = { HK_LOAD_HOLE, HK_PMD_LOAD_HOLE } },
	[DT_WB_PAGES] = { .header = "WB", .width = 6, .sort = "wb", .json = "writeback_pages",
		.prom = FAM_WRITEBACK, .prom_bytes = true, .hooks = { HK_WRITEBACK, NONE } },
	[DT_UNMAP] = { .header = "UNMAP", .width = 5, .sort = "unmap", .json = "unmap",
		.prom = FAM_UNMAPS, .hooks = { HK_UNMAP, NONE }, .optional = true },
	[DT_BL_WAITS] = { .header = "BLWAIT", .width = 6, .sort = "blwait", .json = "bl_waits",
		.prom = FAM_BL_WAITS, .hooks = { HK_BUSY, NONE }, .optional = true },
};

const struct daxtop_family_def daxtop_families[FAM_NR] = {
	[FAM_FAULTS] = { "daxtrace_faults_total",
		"DAX faults by device and type: pte (4 KiB mapped), pmd (2 MiB mapped), "
		"pmd_fallback (PMD fault fell back to PTEs), mkwrite (MAP_SYNC write fault "
		"that synced file metadata before mapping the page, also counted as pte or pmd), "
		"hole (read of a sparse range mapped to the zero page)." },
	[FAM_WRITES] = { "daxtrace_write_faults_total",
		"Completed PTE and PMD faults with FAULT_FLAG_WRITE." },
	[FAM_WRITEBACK] = { "daxtrace_writeback_bytes_total",
		"Bytes of DAX mappings written back (cache flushed) by dax_writeback_one." },
	[FAM_UNMAPS] = { "daxtrace_unmaps_total",
		"Zaps of DAX file mapping ranges (munmap, truncate, exit)." },
	[FAM_BL_WAITS] = { "daxtrace_break_layouts_waits_total",
		"break_layouts waits (truncate/punch hole waiting for pinned DAX pages) "
		"that ended." },
};

static const char *const fallback_names[FB_NR] = {
	[FB_MISALIGNED] = "misaligned", [FB_COW] = "cow", [FB_VMA_BOUNDS] = "vma_bounds",
	[FB_EOF] = "eof", [FB_EXTENT] = "extent", [FB_PTE_ENTRY] = "pte_entry",
	[FB_OTHER] = "other",
};

static const char *const drop_names[DROP_NR] = {
	[DROP_ROW_FULL] = "row_map_full", [DROP_LAT_NO_START] = "latency_start_missed",
	[DROP_WAIT_FULL] = "wait_map_full",
};

/* A reason or drop without a name here is a bug: say so, do not hide it. */
const char *daxtop_fallback_name(int reason)
{
	return reason >= 0 && reason < FB_NR && fallback_names[reason] ?
	       fallback_names[reason] : "unnamed";
}

const char *daxtop_drop_name(int drop)
{
	return drop >= 0 && drop < DROP_NR && drop_names[drop] ? drop_names[drop] : "unnamed";
}
