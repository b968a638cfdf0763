/* The exporter's writers, reached by including export.c and the top
 * source (their writers and states are static): one exposition of made-up
 * series, every family present. */
#include "../../src/export/export.c"
#include "../../src/export/export_top.c"
#include "render.h"

static void fill(struct acc *a)
{
	for (int i = 0; i < DT_NR_COUNTERS; i++)
		a->cnt[i] = i + 1;
	a->bl_wait_ns = 1000;
	a->lat_ns = 5000;
	a->lat.slots[12] = 3;
}

/* One device series, one split series and one folded into "other". */
static void add_series(struct series_set *s, struct skey k1, struct skey k2, const char *label)
{
	struct series *se;
	bool created;

	se = series_get(s, k1, &created);
	se->dev = 259 << 20;
	se->ino = k1.b;
	se->pid = (uint32_t)k1.a;
	snprintf(se->label, sizeof(se->label), "%s", label);
	fill(&se->live);
	se = series_get(s, k2, &created);
	fill(&se->live);
}

int render_export(FILE *out, int split, void *leak_state)
{
	struct exporter *e = calloc(1, sizeof(*e));
	struct top_source *t = calloc(1, sizeof(*t));
	char *buf = NULL;
	size_t len = 0;

	if (!e || !t)
		return -1;
	e->o.split = split;
	e->o.textfile = "fields.prom";
	e->http_on = true;
	snprintf(e->kernel, sizeof(e->kernel), "fields");
	t->split = split;
	t->c.hooks = t->hooks;
	t->c.nhooks = 1;
	t->hooks[0] = (struct hook){ .func = "dax_pte_fault", .method = PM_TRACEPOINT };
	series_init(&t->devs, 1);
	add_series(&t->devs, (struct skey){ 259 << 20, 0 }, (struct skey){ 260 << 20, 0 }, "");
	series_init(&t->split_set, 1);
	if (split == SPLIT_FILE)
		add_series(&t->split_set, (struct skey){ 259 << 20, 12 },
			   (struct skey){ 259 << 20, 13 }, "/mnt/pmem/f");
	else
		add_series(&t->split_set, (struct skey){ 4000001, 0 }, (struct skey){ 4000002, 0 },
			   "daxload");
	e->src[SRC_TOP] = (struct source_run){ &export_source_top, t, true };
	e->src[SRC_LEAK] = (struct source_run){ &export_source_leak, leak_state, true };
	if (render(e, &buf, &len))
		return -1;
	fwrite(buf, 1, len, out);
	free(buf);
	series_free(&t->devs);
	series_free(&t->split_set);
	free(t);
	free(e);
	return 0;
}
