/* daxtrace export: run the metric sources (daxtop's session, and
 * daxleak's unless --no-leak) and publish Prometheus metrics over HTTP
 * (GET /metrics) and/or as a node_exporter textfile. See
 * docs/daxtrace-export.8 for the metric list and the design. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include "commands.h"
#include "era.h"
#include "export.h"
#include "http.h"
#include "mounts.h"
#include "preflight.h"
#include "prom.h"
#include "textfile.h"
#include "util.h"

#define DEFAULT_LISTEN	"127.0.0.1:9476"

/* the exporter's own long options */
enum { O_PERFILE = 256, O_PERPID, O_MAXSERIES, O_NOLEAK, O_LEAKMINAGE };

/* A source in the exporter: top first (required), then leak. */
struct source_run {
	const struct export_source *src;
	void *state;
	bool up;
};

enum { SRC_TOP, SRC_LEAK, SRC_NR };

struct exporter {
	struct export_opts o;
	struct source_run src[SRC_NR];
	struct era_info era;
	char kernel[128];
	double start_wall, last_wall, collect_s;
	uint64_t collections, textfile_errors;
	struct http_server http;
	bool http_on;
	struct textfile tf;
};

static void usage(FILE *out)
{
	fprintf(out,
"Usage: daxtrace export [OPTIONS]\n"
"Keep daxtop's probes attached and publish Prometheus metrics: over HTTP\n"
"(GET /metrics) and/or by atomically rewriting a node_exporter textfile.\n\n"
"  -l, --listen ADDR:PORT serve HTTP here (default " DEFAULT_LISTEN " unless only\n"
"                         --textfile is given); :PORT = every address\n"
"  -t, --textfile PATH    rewrite PATH (a .prom file) every interval\n"
"  -i, --interval SECS    collection interval (default 5)\n"
"      --per-file         also export per-file series (capped, see --max-series)\n"
"      --per-pid          also export per-process series (capped)\n"
"      --max-series N     per-file/per-pid series limit (default 100); the rest\n"
"                         are summed into file=\"other\" / pid=\"other\"\n"
"  -p, --pid PID          only this process\n"
"      --dev DEV          only this device (MAJ:MIN, /dev/pmemN or a DAX mount point)\n"
"      --max-rows N       size of the in-kernel row table (default 4096)\n"
"      --no-fentry        do not use fentry/fexit (use kprobes)\n"
"      --no-kprobe        do not use kprobes\n"
"      --lat-all          time every fault (default: a sample at high fault rates)\n"
"      --leak-min-age SECS count extra page references held this long (default 5)\n"
"      --no-leak          no daxleak metrics (extra references, waiters, hazards)\n"
"  -h, --help             this help\n");
}

/* One of the exporter's own options (the top session's are daxtop_config_opt's). */
static int parse_opt(int c, char **argv, struct export_opts *o)
{
	uint64_t v;

	switch (c) {
	case 'l': o->listen = optarg; return 0;
	case 't':
		if (!*optarg)
			return usage_error("empty --textfile path%s", "");
		o->textfile = optarg;
		return 0;
	case 'i':
		if (parse_seconds(optarg, &o->interval_s) || o->interval_s < 0.1 ||
		    o->interval_s > 3600)
			return usage_error("bad interval '%s': give 0.1 to 3600 seconds", optarg);
		return 0;
	case O_PERFILE:
	case O_PERPID: {
		enum export_split want = c == O_PERFILE ? SPLIT_FILE : SPLIT_PID;

		if (o->split && o->split != want)
			return usage_error("--per-file and --per-pid exclude each other%s", "");
		o->split = want;
		return 0;
	}
	case O_MAXSERIES:
		if (parse_u64(optarg, &v) || !v || v > 100000)
			return usage_error("bad --max-series '%s': give 1..100000", optarg);
		o->max_series = v;
		return 0;
	case O_NOLEAK: o->no_leak = true; return 0;
	case O_LEAKMINAGE:
		if (parse_seconds(optarg, &o->leak_min_age_s) || o->leak_min_age_s < 0 ||
		    o->leak_min_age_s > 86400)
			return usage_error("bad --leak-min-age '%s': give 0 to 86400 seconds", optarg);
		return 0;
	case 'h': usage(stdout); exit(EXIT_OK);
	case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
	default: return usage_error("unknown option '%s'", argv[optind - 1]);
	}
}

static int parse_args(int argc, char **argv, struct export_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "textfile", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' }, { "per-file", no_argument, NULL, O_PERFILE },
		{ "per-pid", no_argument, NULL, O_PERPID }, { "max-series", required_argument, NULL, O_MAXSERIES },
		{ "no-leak", no_argument, NULL, O_NOLEAK },
		{ "leak-min-age", required_argument, NULL, O_LEAKMINAGE }, DAXTOP_CONFIG_OPTIONS,
		{ "help", no_argument, NULL, 'h' }, {}
	};
	int c, rc;

	o->interval_s = 5;
	o->max_series = 100;
	daxtop_config_init(&o->top);
	o->leak_min_age_s = 5;	/* daxleak's --min-age default */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:t:i:p:h", opts, NULL)) != -1) {
		rc = daxtop_config_opt(c, optarg, &o->top);
		if (rc == 1)
			rc = parse_opt(c, argv, o);
		if (rc)
			return rc;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->listen && !o->textfile)
		o->listen = DEFAULT_LISTEN;
	return 0;
}

/* --- textfile (src/textfile.c: safe in a directory others own) --- */

static int textfile_prepare(struct exporter *e)
{
	char err[512];

	if (textfile_open(&e->tf, e->o.textfile, err, sizeof(err))) {
		warn_msg("%s", err);
		return -1;
	}
	return 0;
}

static int textfile_write(struct exporter *e, const char *data, size_t len)
{
	char err[512];

	if (!textfile_replace(&e->tf, data, len, err, sizeof(err)))
		return 0;
	if (!e->textfile_errors++)	/* say it once; the counter tells the rest */
		warn_msg("%s", err);
	return -1;
}

/* --- rendering --- */

static void write_probes(struct exporter *e, struct prom *p)
{
	prom_family(p, "daxtrace_probe_attached", "gauge",
		    "1 when the hook is attached (method: tracepoint, fentry, kprobe), 0 when "
		    "unavailable on this kernel (method none).");
	for (int s = 0; s < SRC_NR; s++) {
		const struct source_run *r = &e->src[s];
		const struct hook *h;
		int n;

		if (!r->state || !r->src->hooks)
			continue;
		n = r->src->hooks(r->state, &h);
		for (int i = 0; i < n; i++) {
			struct prom_labels l = {};

			labels_add(&l, "tool", r->src->name);
			labels_add(&l, "hook", h[i].func);
			labels_add(&l, "method", probe_method_name(h[i].method));
			prom_u64(p, "daxtrace_probe_attached", &l, h[i].method != PM_NONE);
		}
	}
	prom_family(p, "daxtrace_source_up", "gauge",
		    "1 when a metric source works, 0 when it failed: top (daxtop probes), leak "
		    "(daxleak; absent with --no-leak).");
	for (int s = 0; s < SRC_NR; s++) {
		struct prom_labels l = {};

		/* --no-leak: absent, so 0 always means a source that failed */
		if (!e->src[s].src)
			continue;
		labels_add(&l, "source", e->src[s].src->name);
		prom_u64(p, "daxtrace_source_up", &l, e->src[s].up);
	}
}

static void write_info(struct exporter *e, struct prom *p)
{
	struct prom_labels l = {};
	struct dax_mount m[16];
	int n;

	prom_family(p, "daxtrace_build_info", "gauge",
		    "daxtrace version, running kernel and DAX refcount era; always 1.");
	labels_add(&l, "version", daxtrace_version);
	labels_add(&l, "kernel", e->kernel);
	labels_add(&l, "era", era_short_name(e->era.era));
	prom_u64(p, "daxtrace_build_info", &l, 1);

	prom_one_double(p, "daxtrace_start_time_seconds", "gauge",
		    "Unix time when the probes were attached (counters count from here).",
		    e->start_wall);
	prom_one_double(p, "daxtrace_last_update_timestamp_seconds", "gauge",
		    "Unix time of the collection these values come from.",
		    e->last_wall);
	prom_one_double(p, "daxtrace_collect_duration_seconds", "gauge",
		    "How long the last collection took.",
		    e->collect_s);
	write_probes(e, p);
	prom_family(p, "daxtrace_device_info", "gauge",
		    "DAX-mounted filesystems: device, mount point, type and dax mode; always 1.");
	n = mounts_read(m, 16, true);
	for (int i = 0; i < n; i++) {
		struct prom_labels d = {};
		char dev[24];

		kdev_str(m[i].dev, dev, sizeof(dev));
		labels_add(&d, "dev", dev);
		labels_add(&d, "mountpoint", m[i].target);
		labels_add(&d, "source", m[i].source);
		labels_add(&d, "fstype", m[i].fstype);
		labels_add(&d, "dax", m[i].dax);
		prom_u64(p, "daxtrace_device_info", &d, 1);
	}
}

static void write_drop(struct prom *p, const char *source, const char *reason, uint64_t n)
{
	struct prom_labels l = {};

	labels_add(&l, "source", source);
	labels_add(&l, "reason", reason);
	prom_u64(p, "daxtrace_events_dropped_total", &l, n);
}

static void write_drops(struct exporter *e, struct prom *p)
{
	prom_family(p, "daxtrace_events_dropped_total", "counter",
		    "Events not counted, or counted without detail, because a kernel-side map or "
		    "buffer was full or the kernel skipped a program run, by source (top, leak) "
		    "and reason.");
	for (int s = 0; s < SRC_NR; s++) {
		const struct source_run *r = &e->src[s];
		struct export_drop d[16];
		int n;

		if (!r->state || !r->src->drops)
			continue;
		n = r->src->drops(r->state, d, 16);
		for (int i = 0; i < n; i++)
			write_drop(p, r->src->name, d[i].reason, d[i].n);
	}
}

static void write_self(struct exporter *e, struct prom *p)
{
	static const char *const cls[5] = { NULL, "2xx", NULL, "4xx", "5xx" };

	if (e->o.textfile) {
		prom_one_u64(p, "daxtrace_textfile_errors_total", "counter",
			    "Failed rewrites of the --textfile.",
			    e->textfile_errors);
	}
	if (!e->http_on)
		return;
	prom_family(p, "daxtrace_http_requests_total", "counter",
		    "HTTP requests answered, by status class.");
	for (int i = 0; i < 5; i++) {
		struct prom_labels l = {};

		if (!cls[i])
			continue;
		labels_add(&l, "code", cls[i]);
		prom_u64(p, "daxtrace_http_requests_total", &l, e->http.stats.requests[i]);
	}
	prom_one_u64(p, "daxtrace_http_timeouts_total", "counter",
		    "HTTP connections closed because the client was too slow: nothing sent in "
		    "2 s, no whole exchange in 5 s, or the oldest such when all 64 slots were taken.",
		    e->http.stats.requests[5]);
	prom_one_u64(p, "daxtrace_http_rejected_total", "counter",
		    "HTTP connections refused with 503 because all 64 slots were sending answers.",
		    e->http.stats.rejected);
}

/* The whole exposition into a malloc'ed buffer. */
static int render(struct exporter *e, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct prom p;

	if (!f)
		return -1;
	prom_init(&p, f);
	write_info(e, &p);
	for (int s = 0; s < SRC_NR; s++)
		if (e->src[s].state && e->src[s].src->write)
			e->src[s].src->write(e->src[s].state, &p);
	write_drops(e, &p);
	write_self(e, &p);
	if (fclose(f))
		return -1;
	return 0;
}

static int publish(struct exporter *e)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;

	if (render(e, &buf, &len)) {
		warn_msg("cannot render metrics: %s", strerror(errno));
		return -1;
	}
	if (e->http_on && http_set_metrics(&e->http, buf, len))
		rc = -1;
	if (e->o.textfile)
		textfile_write(e, buf, len);
	free(buf);
	return rc;
}

/* Every source's collection; the top source failing stops the exporter,
 * another one failing shows in its daxtrace_source_up. */
static int collect(struct exporter *e)
{
	uint64_t t0 = mono_ns();

	for (int s = 0; s < SRC_NR; s++) {
		struct source_run *r = &e->src[s];

		if (!r->state || !r->src->collect)
			continue;
		r->up = !r->src->collect(r->state);
		if (s == SRC_TOP && !r->up)
			return -1;
	}
	e->collections++;
	e->last_wall = wall_seconds();
	e->collect_s = (mono_ns() - t0) / 1e9;
	return 0;
}

/* Start the sources in order; -1 when the top source cannot start. */
static int sources_start(struct exporter *e)
{
	struct utsname u;

	uname(&u);
	snprintf(e->kernel, sizeof(e->kernel), "%s", u.release);
	era_detect(&e->era);
	e->src[SRC_TOP].src = &export_source_top;
	if (!e->o.no_leak)
		e->src[SRC_LEAK].src = &export_source_leak;
	for (int s = 0; s < SRC_NR; s++) {
		struct source_run *r = &e->src[s];

		if (!r->src)
			continue;
		if (!r->src->start(&r->state, &e->o)) {
			r->up = true;
			if (s == SRC_TOP)	/* daxtop's probes are attached: counters start */
				e->start_wall = wall_seconds();
			continue;
		}
		if (r->state)
			r->src->stop(r->state);
		r->state = NULL;
		if (s == SRC_TOP)
			return -1;
		warn_msg("%s metrics unavailable (see above); daxtop metrics continue", r->src->name);
	}
	return 0;
}

static void sources_stop(struct exporter *e)
{
	for (int s = SRC_NR - 1; s >= 0; s--)
		if (e->src[s].state && e->src[s].src->stop)
			e->src[s].src->stop(e->src[s].state);
}

/* "ready" line: the top source's hooks, where metrics go. */
static void say_ready(struct exporter *e)
{
	char where[512], hooksum[64];
	const struct hook *h;
	int n = e->src[SRC_TOP].src->hooks(e->src[SRC_TOP].state, &h);

	probe_summary(hooksum, sizeof(hooksum), h, n);
	where[0] = 0;
	if (e->http_on)
		snprintf(where, sizeof(where), "listening on http://%s/metrics", e->http.bound);
	if (e->o.textfile)
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "%stextfile %s",
			 e->http_on ? ", " : "", e->o.textfile);
	fprintf(stderr, "%s: ready (%s; %s; every %gs)\n", prog_name, hooksum, where,
		e->o.interval_s);
}

int cmd_export(int argc, char **argv)
{
	struct exporter *e = calloc(1, sizeof(*e));
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	char err[256];
	uint64_t next;
	int rc;

	if (!e)
		return EXIT_ERR;
	rc = parse_args(argc, argv, &e->o);
	if (rc)
		goto out;
	if (e->o.listen && http_parse_listen(e->o.listen, &ss, &sslen, err, sizeof(err))) {
		rc = usage_error("%s", err);
		goto out;
	}
	rc = EXIT_ERR;
	if (preflight_check())
		goto out;
	/* Cheap runtime failures before loading anything. */
	if (e->o.listen) {
		if (http_listen(&e->http, &ss, sslen, err, sizeof(err))) {
			warn_msg("%s", err);
			goto out;
		}
		e->http_on = true;
	}
	if (e->o.textfile && textfile_prepare(e))
		goto out;
	install_exit_signals();
	signal(SIGPIPE, SIG_IGN);
	if (sources_start(e) || collect(e) || publish(e))
		goto stop;
	say_ready(e);
	next = mono_ns() + (uint64_t)(e->o.interval_s * 1e9);
	rc = EXIT_OK;
	while (!exiting) {
		uint64_t now = mono_ns();

		if (now >= next) {
			if (collect(e) || publish(e)) {
				rc = EXIT_ERR;
				break;
			}
			next += (uint64_t)(e->o.interval_s * 1e9);
			if (next <= now)
				next = now + (uint64_t)(e->o.interval_s * 1e9);
			continue;
		}
		if (e->http_on)
			http_poll(&e->http, (int)((next - now) / 1000000) + 1);
		else
			sleep_interruptible((next - now) / 1e9);
	}
	/* A stopped exporter leaves no stale textfile behind. */
	if (e->o.textfile)
		textfile_close(&e->tf, rc == EXIT_OK);
stop:
	sources_stop(e);
out:
	if (e->http_on)
		http_close(&e->http);
	if (e->o.textfile)
		textfile_close(&e->tf, false);	/* closed already, or never written */
	free(e);
	return rc;
}
