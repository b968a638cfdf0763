/* daxtop batch text and JSON output (one table or object per interval). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "daxtop_print.h"
#include "hist_user.h"
#include "json.h"
#include "mounts.h"
#include "paths.h"

static const char *const fb_names[FB_NR] = { "misaligned", "cow", "vma_bounds", "eof", "extent",
						    "pte_entry", "other" };
static const char *const drop_names[DROP_NR] = { "row_map_full", "latency_start_missed", "wait_map_full" };

static void clock_str(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

void daxtop_header_line(const struct daxtop_ctx *c, const struct snapshot *cur,
			const struct snapshot *base, char *buf, size_t len)
{
	double secs = (cur->t_ns - (base ? base->t_ns : c->attach_ns)) / 1e9;
	uint64_t timed, faults;

	lat_timed(cur, base, &timed, &faults);
	snprintf(buf, len, "host=%s kernel=%s era=%s idle=%d span=%.2fs events=%llu lost=%llu "
		 "(skipped=%llu) lat_timed=%llu/%llu%s lat_missed=%llu hooks: %s", c->host,
		 c->kernel, c->era.era == ERA_ZERO_BASED ? "zero-based" :
		 c->era.era == ERA_ONE_BASED ? "one-based" : "unknown", c->era.idle, secs,
		 (unsigned long long)(cur->events - (base ? base->events : 0)),
		 (unsigned long long)total_drops(cur, base),
		 (unsigned long long)(cur->missed_runs - (base ? base->missed_runs : 0)),
		 (unsigned long long)timed, (unsigned long long)faults,
		 c->lat_all ? "(all)" : timed < faults ? "(sampled)" : "",
		 (unsigned long long)(cur->drops[DROP_LAT_NO_START] -
				      (base ? base->drops[DROP_LAT_NO_START] : 0)), c->hooksum);
}

static void fmt_or(char *buf, size_t len, bool avail, const char *fmt, double v,
		   const char *instead)
{
	if (avail)
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "%s", instead);
}

static void fmt_na(char *buf, size_t len, bool avail, const char *fmt, double v)
{
	fmt_or(buf, len, avail, fmt, v, "n/a");
}

static void fmt_dash(char *buf, size_t len, bool avail, const char *fmt, double v)
{
	fmt_or(buf, len, avail, fmt, v, "-");
}

void daxtop_format_row(const struct daxtop_ctx *c, const struct view_row *v,
		       char *buf, size_t len)
{
	const struct daxtop_row *r = &v->r;
	char pid[16], file[256], dev[24], ino[24], unmap[24], blw[24], blms[24], p50[24], p99[24];
	bool timed = hist_total(&r->lat) > 0;

	if (c->vo.group == GROUP_FILE)
		snprintf(pid, sizeof(pid), "*");
	else
		snprintf(pid, sizeof(pid), "%u", v->key.pid);
	if (c->vo.group == GROUP_PID) {
		snprintf(file, sizeof(file), "(%d files)", v->nfiles);
		snprintf(dev, sizeof(dev), "-");
		snprintf(ino, sizeof(ino), "-");
	} else {
		path_label(v->key.pid, v->key.dev, v->key.ino, file, sizeof(file));
		snprintf(dev, sizeof(dev), "%u:%u", kdev_major(v->key.dev), kdev_minor(v->key.dev));
		snprintf(ino, sizeof(ino), "%llu", (unsigned long long)v->key.ino);
	}
	fmt_na(unmap, sizeof(unmap), c->avail.unmap, "%.0f", r->cnt[DT_UNMAP]);
	fmt_na(blw, sizeof(blw), c->avail.blwait, "%.0f", r->cnt[DT_BL_WAITS]);
	fmt_na(blms, sizeof(blms), c->avail.blwait, "%.1f", r->bl_wait_ns / 1e6);
	/* "-": no fault of this row was timed (sampled out, or none) */
	fmt_dash(p50, sizeof(p50), timed, "%.0f", hist_percentile(&r->lat, 50) / 1000);
	fmt_dash(p99, sizeof(p99), timed, "%.0f", hist_percentile(&r->lat, 99) / 1000);
	snprintf(buf, len, "%7s %-15.15s %-8s %8s %7llu %5llu %5llu %6llu %5llu %5llu %6llu %5s "
		 "%6s %8s %6s %6s %s", pid, c->vo.group == GROUP_FILE ? "-" : r->comm, dev, ino,
		 (unsigned long long)r->cnt[DT_PTE], (unsigned long long)r->cnt[DT_PMD],
		 (unsigned long long)r->cnt[DT_PMD_FALLBACK], (unsigned long long)r->cnt[DT_WRITE],
		 (unsigned long long)r->cnt[DT_MKWRITE], (unsigned long long)r->cnt[DT_HOLE],
		 (unsigned long long)r->cnt[DT_WB_PAGES], unmap, blw, blms, p50, p99, file);
}

const char *daxtop_columns(void)
{
	return "    PID COMM            DEV           INO     PTE   PMD PMDFB  WRITE  MKWR  HOLE     WB "
	       "UNMAP BLWAIT    BLWMS LATP50 LATP99 FILE";
}

static void print_hists(FILE *out, const struct daxtop_ctx *c, const struct snapshot *cur,
			const struct snapshot *base)
{
	static const char *const titles[H_NR] = {
		"PTE fault latency", "PMD fault latency", "break_layouts wait",
	};
	uint64_t timed, faults;
	struct hist h;
	bool sampled;

	lat_timed(cur, base, &timed, &faults);
	sampled = timed < faults;
	for (int i = 0; i < H_NR; i++) {
		snapshot_hist_diff(&h, cur, base, i);
		if (i == H_BL_WAIT && !c->avail.blwait) {
			fprintf(out, "%s: n/a (break_layouts hook unavailable)\n", titles[i]);
			continue;
		}
		fprintf(out, "%s (total %llu%s):\n", titles[i], (unsigned long long)hist_total(&h),
			i != H_BL_WAIT && sampled ? ", a sample of the faults" : "");
		hist_print(out, &h, i == H_BL_WAIT ? "msecs" : "usecs", i == H_BL_WAIT ? 1000000 : 1000);
	}
	fprintf(out, "PMD fallback reasons:");
	for (int i = 0; i < FB_NR; i++)
		fprintf(out, " %s=%llu", fb_names[i],
			(unsigned long long)(cur->fallback[i] - (base ? base->fallback[i] : 0)));
	fputc('\n', out);
}

void daxtop_print_text(FILE *out, const struct daxtop_ctx *c, const struct snapshot *cur,
		       const struct snapshot *base, bool total, bool hist)
{
	struct view_row *v;
	char tbuf[16], line[1024];
	int n = view_build(c, cur, base, &v);

	clock_str(tbuf, sizeof(tbuf));
	daxtop_header_line(c, cur, base, line, sizeof(line));
	fprintf(out, "%s%s daxtop %s\n", total ? "TOTAL " : "", tbuf, line);
	fprintf(out, "%s\n", daxtop_columns());
	for (int i = 0; i < n; i++) {
		daxtop_format_row(c, &v[i], line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
	if (hist)
		print_hists(out, c, cur, base);
	fputc('\n', out);
	fflush(out);
	free(v);
}

static void json_row(struct json *j, const struct daxtop_ctx *c, const struct view_row *v)
{
	const struct daxtop_row *r = &v->r;
	char dev[24];
	const char *path = path_lookup(v->key.pid, v->key.dev, v->key.ino);

	json_obj_begin(j);
	if (c->vo.group != GROUP_FILE) {
		json_kv_u64(j, "pid", v->key.pid);
		json_kv_str(j, "comm", r->comm);
	}
	if (c->vo.group != GROUP_PID) {
		snprintf(dev, sizeof(dev), "%u:%u", kdev_major(v->key.dev), kdev_minor(v->key.dev));
		json_kv_str(j, "dev", dev);
		json_kv_u64(j, "ino", v->key.ino);
		json_key(j, "file");
		json_str(j, path);
	} else {
		json_kv_u64(j, "files", v->nfiles);
	}
	json_kv_u64(j, "pte", r->cnt[DT_PTE]);
	json_kv_u64(j, "pmd", r->cnt[DT_PMD]);
	json_kv_u64(j, "pmd_fallback", r->cnt[DT_PMD_FALLBACK]);
	json_kv_u64(j, "write", r->cnt[DT_WRITE]);
	json_kv_u64(j, "mkwrite", r->cnt[DT_MKWRITE]);
	json_kv_u64(j, "hole", r->cnt[DT_HOLE]);
	json_kv_u64(j, "writeback_pages", r->cnt[DT_WB_PAGES]);
	json_kv_u64_or_null(j, "unmap", c->avail.unmap, r->cnt[DT_UNMAP]);
	json_kv_u64_or_null(j, "bl_waits", c->avail.blwait, r->cnt[DT_BL_WAITS]);
	json_kv_u64_or_null(j, "bl_wait_ns", c->avail.blwait, r->bl_wait_ns);
	json_kv_u64_or_null(j, "bl_wait_max_ns", c->avail.blwait, r->bl_wait_max_ns);
	json_kv_u64(j, "lat_p50_ns", hist_percentile(&r->lat, 50));
	json_kv_u64(j, "lat_p99_ns", hist_percentile(&r->lat, 99));
	json_kv_u64(j, "lat_count", hist_total(&r->lat));
	json_obj_end(j);
}

void daxtop_print_json(FILE *out, const struct daxtop_ctx *c, const struct snapshot *cur,
		       const struct snapshot *base, bool total, bool hist)
{
	struct json j;
	struct view_row *v;
	int n = view_build(c, cur, base, &v);
	uint64_t timed, faults;
	struct hist h;

	json_init(&j, out);
	json_obj_begin(&j);
	json_kv_str(&j, "type", total ? "total" : "interval");
	json_kv_double(&j, "time", wall_seconds());
	json_kv_double(&j, "span_s", (cur->t_ns - (base ? base->t_ns : c->attach_ns)) / 1e9);
	json_kv_str(&j, "host", c->host);
	json_kv_str(&j, "kernel", c->kernel);
	json_kv_str(&j, "era", c->era.era == ERA_ZERO_BASED ? "zero-based" :
		    c->era.era == ERA_ONE_BASED ? "one-based" : "unknown");
	json_kv_i64(&j, "idle_refcount", c->era.idle);
	json_kv_u64(&j, "events", cur->events - (base ? base->events : 0));
	json_kv_u64(&j, "lost", total_drops(cur, base));
	lat_timed(cur, base, &timed, &faults);
	json_kv_u64(&j, "faults", faults);
	json_kv_u64(&j, "lat_timed", timed);
	json_kv_str(&j, "lat_sampling", c->lat_all ? "all" : "auto");
	json_key(&j, "drops");
	json_obj_begin(&j);
	for (int i = 0; i < DROP_NR; i++)
		json_kv_u64(&j, drop_names[i], cur->drops[i] - (base ? base->drops[i] : 0));
	json_kv_u64(&j, "kernel_skipped_runs", cur->missed_runs - (base ? base->missed_runs : 0));
	json_obj_end(&j);
	json_key(&j, "rows");
	json_arr_begin(&j);
	for (int i = 0; i < n; i++)
		json_row(&j, c, &v[i]);
	json_arr_end(&j);
	if (hist) {
		static const char *const keys[H_NR] = { "pte_latency", "pmd_latency", "bl_wait" };

		json_key(&j, "hist");
		json_obj_begin(&j);
		for (int i = 0; i < H_NR; i++) {
			snapshot_hist_diff(&h, cur, base, i);
			json_key(&j, keys[i]);
			hist_json(&j, &h, "ns", 1);
		}
		json_obj_end(&j);
		json_key(&j, "pmd_fallback_reasons");
		json_obj_begin(&j);
		for (int i = 0; i < FB_NR; i++)
			json_kv_u64(&j, fb_names[i], cur->fallback[i] - (base ? base->fallback[i] : 0));
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_line_end(&j);
	free(v);
}
