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
	char skipped[24];

	lat_timed(cur, base, &timed, &faults);
	count_or_na(skipped, sizeof(skipped), c->skips_counted,
		    cur->missed_runs - (base ? base->missed_runs : 0));
	snprintf(buf, len, "host=%s kernel=%s era=%s idle=%d span=%.2fs events=%llu lost=%llu "
		 "(skipped=%s) lat_timed=%llu/%llu%s lat_missed=%llu hooks: %s", c->host,
		 c->kernel, era_short_name(c->era.era), c->era.idle, secs,
		 (unsigned long long)(cur->events - (base ? base->events : 0)),
		 (unsigned long long)total_drops(cur, base), skipped,
		 (unsigned long long)timed, (unsigned long long)faults,
		 c->lat_all ? "(all)" : timed < faults ? "(sampled)" : "",
		 (unsigned long long)(cur->drops[DROP_LAT_NO_START] -
				      (base ? base->drops[DROP_LAT_NO_START] : 0)), c->hooksum);
}

/* The counters' columns (daxtop_counters): numbers, n/a where the
 * counter has no hook on this kernel. */
static size_t fmt_counters(const struct daxtop_ctx *c, const struct daxtop_row *r,
			   char *buf, size_t len)
{
	size_t used = 0;

	for (int i = 0; i < DT_NR_COUNTERS && used < len; i++) {
		const struct daxtop_counter_def *d = &daxtop_counters[i];

		if (c->avail.missing[i])
			used += snprintf(buf + used, len - used, " %*s", d->width, "n/a");
		else
			used += snprintf(buf + used, len - used, " %*llu", d->width,
					 (unsigned long long)r->cnt[i]);
	}
	return used;
}

static void fmt_or(char *buf, size_t len, bool avail, const char *fmt, double v,
		   const char *instead)
{
	if (avail)
		snprintf(buf, len, fmt, v);
	else
		snprintf(buf, len, "%s", instead);
}

void daxtop_format_row(const struct daxtop_ctx *c, const struct view_row *v,
		       char *buf, size_t len)
{
	const struct daxtop_row *r = &v->r;
	char pid[16], file[256], dev[24], ino[24], cnt[160], blms[24], p50[24], p99[24];
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
		kdev_str(v->key.dev, dev, sizeof(dev));
		snprintf(ino, sizeof(ino), "%llu", (unsigned long long)v->key.ino);
	}
	fmt_counters(c, r, cnt, sizeof(cnt));
	fmt_or(blms, sizeof(blms), !c->avail.missing[DT_BL_WAITS], "%.1f", r->bl_wait_ns / 1e6, "n/a");
	/* "-": no fault of this row was timed (sampled out, or none) */
	fmt_or(p50, sizeof(p50), timed, "%.0f", hist_percentile(&r->lat, 50) / 1000, "-");
	fmt_or(p99, sizeof(p99), timed, "%.0f", hist_percentile(&r->lat, 99) / 1000, "-");
	snprintf(buf, len, "%7s %-15.15s %-8s %8s%s %8s %6s %6s %s", pid,
		 c->vo.group == GROUP_FILE ? "-" : r->comm, dev, ino, cnt, blms, p50, p99, file);
}

const char *daxtop_columns(void)
{
	static char cols[256];
	size_t used;

	if (cols[0])
		return cols;
	used = snprintf(cols, sizeof(cols), "%7s %-15s %-8s %8s", "PID", "COMM", "DEV", "INO");
	for (int i = 0; i < DT_NR_COUNTERS && used < sizeof(cols); i++)
		used += snprintf(cols + used, sizeof(cols) - used, " %*s", daxtop_counters[i].width,
				 daxtop_counters[i].header);
	if (used < sizeof(cols))
		snprintf(cols + used, sizeof(cols) - used, " %8s %6s %6s %s", "BLWMS", "LATP50",
			 "LATP99", "FILE");
	return cols;
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
		if (i == H_BL_WAIT && c->avail.missing[DT_BL_WAITS]) {
			fprintf(out, "%s: n/a (break_layouts hook unavailable)\n", titles[i]);
			continue;
		}
		fprintf(out, "%s (total %llu%s):\n", titles[i], (unsigned long long)hist_total(&h),
			i != H_BL_WAIT && sampled ? ", a sample of the faults" : "");
		hist_print(out, &h, i == H_BL_WAIT ? "msecs" : "usecs", i == H_BL_WAIT ? 1000000 : 1000);
	}
	fprintf(out, "PMD fallback reasons:");
	for (int i = 0; i < FB_NR; i++)
		fprintf(out, " %s=%llu", daxtop_fallback_name(i),
			(unsigned long long)(cur->fallback[i] - (base ? base->fallback[i] : 0)));
	fputc('\n', out);
}

void daxtop_print_text(FILE *out, const struct daxtop_ctx *c, const struct snapshot *cur,
		       const struct snapshot *base, bool total, bool hist)
{
	struct view_row *v;
	char tbuf[16], line[1024];
	int n = view_build(&c->vo, cur, base, &v);

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
		kdev_str(v->key.dev, dev, sizeof(dev));
		json_kv_str(j, "dev", dev);
		json_kv_u64(j, "ino", v->key.ino);
		json_key(j, "file");
		json_str(j, path);
	} else {
		json_kv_u64(j, "files", v->nfiles);
	}
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		json_kv_u64_or_null(j, daxtop_counters[i].json, !c->avail.missing[i], r->cnt[i]);
	json_kv_u64_or_null(j, "bl_wait_ns", !c->avail.missing[DT_BL_WAITS], r->bl_wait_ns);
	json_kv_u64_or_null(j, "bl_wait_max_ns", !c->avail.missing[DT_BL_WAITS], r->bl_wait_max_ns);
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
	int n = view_build(&c->vo, cur, base, &v);
	uint64_t timed, faults;
	struct hist h;

	json_init(&j, out);
	json_obj_begin(&j);
	json_kv_str(&j, "type", total ? "total" : "interval");
	json_kv_double(&j, "time", wall_seconds());
	json_kv_double(&j, "span_s", (cur->t_ns - (base ? base->t_ns : c->attach_ns)) / 1e9);
	json_kv_str(&j, "host", c->host);
	json_kv_str(&j, "kernel", c->kernel);
	json_kv_str(&j, "era", era_short_name(c->era.era));
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
		json_kv_u64(&j, daxtop_drop_name(i), cur->drops[i] - (base ? base->drops[i] : 0));
	/* null: this kernel does not count the runs it skips */
	json_kv_u64_or_null(&j, "kernel_skipped_runs", c->skips_counted,
			    cur->missed_runs - (base ? base->missed_runs : 0));
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
			json_kv_u64(&j, daxtop_fallback_name(i),
				    cur->fallback[i] - (base ? base->fallback[i] : 0));
		json_obj_end(&j);
	}
	json_obj_end(&j);
	json_line_end(&j);
	free(v);
}
