/* What hook selection chose, for people and tools: method names, counts,
 * the warning lines, the table and JSON of `daxtrace features`, and the
 * one-line summary. */
#include <stdio.h>
#include "probe.h"
#include "util.h"

const char *probe_method_name(enum probe_method m)
{
	switch (m) {
	case PM_TRACEPOINT: return "tracepoint";
	case PM_TP_BTF: return "tp_btf";
	case PM_FENTRY: return "fentry";
	case PM_KPROBE: return "kprobe";
	default: return "unavailable";
	}
}

int probe_count(const struct hook *hooks, int n, enum probe_method m)
{
	int c = 0;

	for (int i = 0; i < n; i++)
		c += hooks[i].method == m;
	return c;
}

/* "func", or "func:role" where one function has several hooks. */
static const char *hook_label(const struct hook *h, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", h->func, h->role ? ":" : "", h->role ? h->role : "");
	return buf;
}

void probe_warn_unavailable(const struct hook *hooks, int n)
{
	char name[160];

	for (int i = 0; i < n; i++)
		if (hooks[i].method == PM_NONE)
			warn_msg("%s: unavailable (%s); lost: %s",
				 hook_label(&hooks[i], name, sizeof(name)), hooks[i].why,
				 hooks[i].lost ? hooks[i].lost : "nothing shown");
}

void probe_print_table(FILE *out, const char *tool, const struct hook *hooks, int n)
{
	fprintf(out, "%s hooks:\n", tool);
	for (int i = 0; i < n; i++) {
		const struct hook *h = &hooks[i];
		char name[160];

		fprintf(out, "  %-34s %-11s %s%s%s\n", hook_label(h, name, sizeof(name)),
			probe_method_name(h->method),
			h->method == PM_NONE ? "" : h->symbol,
			h->why[0] ? (h->method == PM_NONE ? "" : " ") : "",
			h->why[0] ? h->why : "");
		if (h->method == PM_NONE && h->lost)
			fprintf(out, "  %-34s %-11s lost: %s\n", "", "", h->lost);
	}
}

void probe_json(struct json *j, const struct hook *hooks, int n)
{
	json_arr_begin(j);
	for (int i = 0; i < n; i++) {
		const struct hook *h = &hooks[i];

		json_obj_begin(j);
		json_kv_str(j, "hook", h->func);
		if (h->role)
			json_kv_str(j, "role", h->role);
		json_kv_str(j, "method", probe_method_name(h->method));
		json_kv_str(j, "symbol", h->symbol);
		json_kv_str(j, "note", h->why);
		if (h->method == PM_NONE)
			json_kv_str(j, "lost", h->lost ? h->lost : "");
		json_obj_end(j);
	}
	json_arr_end(j);
}

void probe_summary(char *buf, size_t len, const struct hook *hooks, int n)
{
	snprintf(buf, len, "tp %d, tp_btf %d, fentry %d, kprobe %d, n/a %d",
		 probe_count(hooks, n, PM_TRACEPOINT), probe_count(hooks, n, PM_TP_BTF),
		 probe_count(hooks, n, PM_FENTRY),
		 probe_count(hooks, n, PM_KPROBE), probe_count(hooks, n, PM_NONE));
}
