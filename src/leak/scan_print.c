/* daxleak --now: text and JSON output, and the command itself. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "scan_int.h"
#include "preflight.h"
#include "util.h"

#define STACK_SHOWN 16

static const char *how_name(enum daxnow_how h)
{
	switch (h) {
	case DNH_PIPE: return "pipe";
	case DNH_PIPE_FILE: return "pipe-same-file";
	case DNH_MAP: return "mapping";
	case DNH_GUPIO: return "direct-io";
	}
	return "?";
}

static const char *via_name(uint32_t v)
{
	switch (v) {
	case DN_VIA_BUCKET: return "bit_wait_table";
	case DN_VIA_STACK: return "task stack";
	default: return "none";
	}
}

static void fmt_frame(const struct daxnow_report *r, uint64_t ip, char *buf, size_t len)
{
	uint64_t off;
	const struct ksym *s = r->ks ? ksyms_find(r->ks, ip, &off) : NULL;

	if (!s)
		snprintf(buf, len, "0x%llx", (unsigned long long)ip);
	else if (s->module)
		snprintf(buf, len, "%s+0x%llx [%s]", s->name, (unsigned long long)off, s->module);
	else
		snprintf(buf, len, "%s+0x%llx", s->name, (unsigned long long)off);
}

static bool has_exact_holder(const struct daxnow_report *r, const struct daxnow_waiter *w)
{
	for (size_t k = 0; k < w->nholders; k++)
		if (w->holders[k].how == DNH_PIPE || (w->holders[k].how == DNH_MAP && daxnow_map_holds(r, w)))
			return true;
	return false;
}

static void fds_text(const struct daxnow_holder *h, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < h->nfds && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%d", i ? "," : "", h->fds[i]);
}

/* The sentence the user needs when nothing in a process holds the page. */
static const char *no_holder_text(const struct daxnow_report *r, const struct daxnow_waiter *w)
{
	if (r->method != DAXNOW_BPF)
		return "unknown: holders need the BPF iterators";
	if (!w->page_found)
		return "unknown: the waited page was not found";
	if (w->extra <= 0)
		return "none: the page looks idle now (the waiter should wake)";
	return "none: " HOLDER_NONE_TEXT;
}

/* The pipes and mappings found for the waited page: "held by" only those
 * that hold a reference to it. */
static void print_holders(FILE *out, const struct daxnow_report *r, const struct daxnow_waiter *w)
{
	char fds[64];

	for (size_t k = 0; k < w->nholders; k++) {
		const struct daxnow_holder *h = &w->holders[k];

		bool holds = h->how == DNH_PIPE || (h->how == DNH_MAP && daxnow_map_holds(r, w));

		/* only a real holder is "held by": a mapping after break_layouts
		 * unmapped it, or a pipe of other pages, holds nothing of this page */
		fprintf(out, "  %s pid %u %s: ", holds ? "held by" : "not held", h->pid, h->comm);
		fds_text(h, fds, sizeof(fds));
		switch (h->how) {
		case DNH_PIPE:
			fprintf(out, "pipe (fd %s) holds this page; %u of its %u buffers "
				"are pages of this file\n", fds, h->same_file, h->nbufs);
			break;
		case DNH_PIPE_FILE:
			fprintf(out, "pipe (fd %s) holds %u other page%s of this file "
				"(next to wait for)\n", fds, h->same_file,
				h->same_file == 1 ? "" : "s");
			break;
		case DNH_MAP:
			fprintf(out, "maps the file over this page at 0x%llx (vma 0x%llx-0x%llx)"
				"%s\n", (unsigned long long)h->addr,
				(unsigned long long)h->vm_start, (unsigned long long)h->vm_end,
				daxnow_map_holds(r, w) ? ": the page is still mapped" :
				": not a reference (break_layouts unmapped the page; "
				"it would fault back in)");
			break;
		default:
			fprintf(out, "?\n");
		}
	}
}

static void print_waiter(FILE *out, const struct daxnow_report *r, const struct daxnow_waiter *w)
{
	const struct dn_task_rec *t = &w->rec;
	const struct dn_page *pg = &t->pg;
	char fr[256];

	fprintf(out, "\nWAITER pid %u tid %u %s  state %c (%s)  op %s", t->pid, t->tid, t->comm,
		w->state, w->interruptible ? "interruptible" : "uninterruptible", blw_op_name(w->op));
	if (w->asleep_s >= 0)
		fprintf(out, "  asleep %.1f s", w->asleep_s);
	else
		fprintf(out, "  asleep ?");
	fprintf(out, "\n  in       %s\n", w->wait_frame[0] ? w->wait_frame : w->proc_wchan);
	if (w->page_found) {
		fprintf(out, "  file     %s on %s, dev %u:%u, ino %llu\n",
			pg->fstype[0] ? pg->fstype : "?", pg->s_id[0] ? pg->s_id : "?",
			pg->dev >> 20, pg->dev & 0xfffff, (unsigned long long)pg->ino);
		fprintf(out, "  page     0x%llx", (unsigned long long)pg->page);
		if (pg->pfn != ~0ULL)
			fprintf(out, " pfn 0x%llx", (unsigned long long)pg->pfn);
		if (pg->shared)
			fprintf(out, " (reflink-shared: no single file offset)");
		else
			fprintf(out, " file offset %llu (index %llu)",
				(unsigned long long)pg->index * 4096, (unsigned long long)pg->index);
		fprintf(out, "\n           refcount %d, idle %d", pg->refcount, r->era.idle);
		if (r->era.era == ERA_ZERO_BASED)
			fprintf(out, ", mappings %d", pg->mapcount);
		fprintf(out, " -> %lld extra reference%s\n", (long long)w->extra,
			w->extra == 1 ? "" : "s");
		fprintf(out, "           (wait entry found via %s", via_name(t->via));
		if (t->via == DN_VIA_BUCKET)
			fprintf(out, ", bucket %d", t->bucket);
		fprintf(out, ")\n");
	} else if (r->method == DAXNOW_BPF) {
		fprintf(out, "  page     not found (wait entry %s%s)\n",
			t->via == DN_VIA_NONE ? "not found" : "found, but its var is not an FS DAX page",
			t->via == DN_VIA_NONE ? "" : "");
	}
	print_holders(out, r, w);
	if (!has_exact_holder(r, w)) {
		fprintf(out, "  holder   %s\n", no_holder_text(r, w));
		for (size_t k = 0; k < r->ngupio; k++)
			fprintf(out, "  maybe    pid %u %s: direct I/O in flight (its pages "
				"cannot be told from outside)\n", r->gupio[k].pid, r->gupio[k].comm);
	}
	if (t->nframes > 0) {
		fprintf(out, "  stack\n");
		for (int i = 0; i < t->nframes && i < STACK_SHOWN; i++) {
			fmt_frame(r, t->stack[i], fr, sizeof(fr));
			fprintf(out, "           %s\n", fr);
		}
		if (t->nframes > STACK_SHOWN)
			fprintf(out, "           ... %d more\n", t->nframes - STACK_SHOWN);
	}
}

void daxnow_print(FILE *out, const struct daxnow_report *r)
{
	const char *m = r->method != DAXNOW_BPF ? "/proc fallback" :
			r->bounded_loops ? "BPF iterators (bounded loops)" : "BPF iterators";

	if (!r->nw)
		fprintf(out, "nothing stuck: no task is waiting in DAX break_layouts "
			"(%llu tasks, %llu asleep, scanned by %s in %.0f ms)\n",
			(unsigned long long)r->tasks_seen, (unsigned long long)r->tasks_asleep, m,
			r->scan_ms);
	else
		fprintf(out, "STUCK: %zu task%s waiting in DAX break_layouts (kernel %s, %s; "
			"%llu tasks scanned by %s in %.0f ms)\n", r->nw, r->nw == 1 ? "" : "s",
			r->kernel, era_name(r->era.era), (unsigned long long)r->tasks_seen, m,
			r->scan_ms);
	if (r->method == DAXNOW_PROC)
		fprintf(out, "note: %s\n", r->why_fallback);
	for (size_t i = 0; i < r->nw; i++)
		print_waiter(out, r, &r->w[i]);
	if (r->nw)
		for (int i = 0; i < r->nlost; i++)
			fprintf(out, "not seen: %s\n", r->lost[i]);
	if (r->recs_lost)
		fprintf(out, "OVERFLOW: %llu records did not fit the iterator output\n",
			(unsigned long long)r->recs_lost);
}

static void json_hex(struct json *j, const char *k, uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
	json_kv_str(j, k, b);
}

/* One DAX page as an object value. */
static void json_page(struct json *j, const struct daxnow_report *r, const struct dn_page *pg,
		      int64_t extra)
{
	json_obj_begin(j);
	json_hex(j, "page", pg->page);
	json_hex(j, "folio", pg->head);
	json_kv_u64_or_null(j, "pfn", pg->pfn != ~0ULL, pg->pfn);
	json_kv_str(j, "fs", pg->fstype);
	json_kv_str(j, "sb", pg->s_id);
	json_kv_u64(j, "dev", pg->dev);
	json_kv_u64(j, "ino", pg->ino);
	json_kv_u64(j, "index", pg->index);
	json_kv_u64_or_null(j, "offset", !pg->shared, pg->index * 4096);
	json_kv_bool(j, "shared", pg->shared);
	json_kv_u64(j, "order", pg->order);
	json_kv_i64(j, "refcount", pg->refcount);
	json_kv_i64(j, "mapcount", r->era.era == ERA_ZERO_BASED ? pg->mapcount : 0);
	json_kv_i64(j, "idle", r->era.idle);
	json_kv_i64(j, "extra", extra);
	json_obj_end(j);
}

static void json_waiter(struct json *j, const struct daxnow_report *r,
			const struct daxnow_waiter *w)
{
	const struct dn_task_rec *t = &w->rec;
	const struct dn_page *pg = &t->pg;
	char st[2] = { w->state, 0 }, fr[256];

	json_obj_begin(j);
	json_kv_u64(j, "pid", t->pid);
	json_kv_u64(j, "tid", t->tid);
	json_kv_str(j, "comm", t->comm);
	json_kv_str(j, "state", st);
	json_kv_bool(j, "interruptible", w->interruptible);
	json_kv_str(j, "op", blw_op_name(w->op));
	json_kv_str(j, "wait_frame", w->wait_frame[0] ? w->wait_frame : w->proc_wchan);
	json_kv_double_or_null(j, "asleep_s", w->asleep_s >= 0, w->asleep_s);
	json_kv_str(j, "asleep_from", w->asleep_src ? w->asleep_src : "");
	json_kv_str(j, "wait_entry_via", via_name(t->via));
	json_kv_i64(j, "bucket", t->bucket);
	json_kv_i64(j, "hash_bucket", w->hash_bucket);
	if (t->var)
		json_hex(j, "var", t->var);
	json_key(j, "page");
	if (!w->page_found) {
		json_null(j);
	} else {
		json_page(j, r, pg, w->extra);
	}
	json_key(j, "holders");
	json_arr_begin(j);
	for (size_t k = 0; k < w->nholders; k++) {
		const struct daxnow_holder *h = &w->holders[k];

		json_obj_begin(j);
		json_kv_u64(j, "pid", h->pid);
		json_kv_str(j, "comm", h->comm);
		json_kv_str(j, "how", how_name(h->how));
		if (h->how == DNH_MAP) {
			json_kv_bool(j, "holds_reference", daxnow_map_holds(r, w));
			json_hex(j, "addr", h->addr);
			json_hex(j, "vm_start", h->vm_start);
			json_hex(j, "vm_end", h->vm_end);
		} else {
			json_key(j, "fds");
			json_arr_begin(j);
			for (int i = 0; i < h->nfds; i++)
				json_u64(j, h->fds[i]);
			json_arr_end(j);
			json_kv_u64(j, "buffers", h->nbufs);
			json_kv_u64(j, "same_file_pages", h->same_file);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kv_str(j, "holder_note", has_exact_holder(r, w) ? "" : no_holder_text(r, w));
	json_key(j, "maybe");
	json_arr_begin(j);
	for (size_t k = 0; !has_exact_holder(r, w) && k < r->ngupio; k++) {
		json_obj_begin(j);
		json_kv_u64(j, "pid", r->gupio[k].pid);
		json_kv_str(j, "comm", r->gupio[k].comm);
		json_kv_str(j, "how", how_name(DNH_GUPIO));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "stack");
	json_arr_begin(j);
	for (int i = 0; i < t->nframes && i < DN_STACK_DEPTH; i++) {
		fmt_frame(r, t->stack[i], fr, sizeof(fr));
		json_str(j, fr);
	}
	json_arr_end(j);
	json_obj_end(j);
}

void daxnow_print_json(struct json *j, const struct daxnow_report *r)
{
	json_obj_begin(j);
	json_kv_str(j, "type", "now");
	json_kv_str(j, "kernel", r->kernel);
	json_kv_str(j, "era", era_name(r->era.era));
	json_kv_i64(j, "idle", r->era.idle);
	json_kv_str(j, "method", r->method == DAXNOW_BPF ? "bpf-iter" : "proc");
	/* which iterator programs: bpf_loop callbacks, or bounded loops where
	 * the kernel has no bpf_loop (5.10) */
	json_kv_str(j, "loops", r->method != DAXNOW_BPF ? "" : r->bounded_loops ? "bounded" : "bpf_loop");
	json_kv_str(j, "fallback_reason", r->method == DAXNOW_PROC ? r->why_fallback : "");
	json_kv_bool(j, "stuck", r->nw > 0);
	json_kv_double(j, "scan_ms", r->scan_ms);
	json_kv_u64(j, "tasks", r->tasks_seen);
	json_kv_u64(j, "tasks_asleep", r->tasks_asleep);
	json_kv_u64(j, "records_lost", r->recs_lost);
	json_kv_bool(j, "bit_wait_table", r->have_bit_wait_table);
	json_kv_bool(j, "vmemmap_base", r->have_vmemmap);
	json_key(j, "waiters");
	json_arr_begin(j);
	for (size_t i = 0; i < r->nw; i++)
		json_waiter(j, r, &r->w[i]);
	json_arr_end(j);
	json_key(j, "held");
	json_arr_begin(j);
	for (size_t i = 0; i < r->nheld; i++) {
		const struct daxnow_held *h = &r->held[i];

		json_obj_begin(j);
		json_key(j, "page");
		json_page(j, r, &h->pg, h->extra);
		json_kv_str(j, "how", h->pid ? how_name(h->how) : "");
		json_kv_u64(j, "holder_pid", h->pid);
		json_kv_str(j, "holder_comm", h->pid ? h->comm : "");
		json_kv_i64(j, "fd", h->fd);
		json_kv_u64_or_null(j, "waiter_tid", h->waiter >= 0,
				    h->waiter >= 0 ? r->w[h->waiter].rec.tid : 0);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kv_u64(j, "held_lost", r->pipe_pages_lost);
	json_key(j, "not_seen");
	json_arr_begin(j);
	for (int i = 0; i < r->nlost; i++)
		json_str(j, r->lost[i]);
	json_arr_end(j);
	json_obj_end(j);
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage: %s --now [-o json] [-p PID]\n"
"One look at the kernel as it is now, for a hang that started before\n"
"daxtrace: every task asleep in DAX break_layouts (truncate, punch hole,\n"
"fallocate, reflink, inode eviction), the page it waits for (pfn, file,\n"
"offset, refcount), and the processes holding that page (pipe buffers from\n"
"vmsplice, mappings). Prints and exits; no hook is attached.\n\n"
"  -o, --output FMT   text (default) or json (one object)\n"
"  -p, --pid PID      only waiters of process PID or held by PID\n"
"  -h, --help         this text\n"
"Exit: 0 ok (stuck or not), 1 error, 2 bad usage.\n", prog_name);
}

int daxnow_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "now", no_argument, 0, 'N' },
		{ "output", required_argument, 0, 'o' },
		{ "pid", required_argument, 0, 'p' },
		{ "help", no_argument, 0, 'h' },
		{ 0 }
	};
	struct daxnow_report r = {};
	bool json = false;
	uint64_t u;
	int o;

	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":o:p:h", opts, NULL)) != -1) {
		switch (o) {
		case 'N':
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				json = true;
			else if (strcmp(optarg, "text"))
				return usage_error("unknown output format '%s' (text or json)", optarg);
			break;
		case 'p':
			if (parse_u64(optarg, &u) || !u || u > 0x3fffffff)
				return usage_error("bad pid '%s'", optarg);
			r.filter_pid = u;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("option '%s' does not go with --now", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (preflight_check())
		return EXIT_ERR;
	libbpf_setup_logging();
	if (daxnow_scan(&r)) {
		daxnow_report_free(&r);
		return EXIT_ERR;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout);
		daxnow_print_json(&j, &r);
		json_line_end(&j);
	} else {
		daxnow_print(stdout, &r);
	}
	fflush(stdout);
	daxnow_report_free(&r);
	return EXIT_OK;
}
