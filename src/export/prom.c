/* Prometheus text exposition writer; see prom.h. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "prom.h"
#include "utf8.h"

void prom_init(struct prom *p, FILE *out)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
}

int prom_valid_name(const char *s)
{
	if (!s || !*s)
		return 0;
	for (const char *c = s; *c; c++) {
		bool alpha = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			     *c == '_' || *c == ':';
		bool digit = *c >= '0' && *c <= '9';

		if (!alpha && !(digit && c != s))
			return 0;
	}
	return 1;
}

static const char *label_escape(unsigned char c, char buf[8])
{
	return c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
}

static const char *help_escape(unsigned char c, char buf[8])
{
	return c == '\\' ? "\\\\" : c == '\n' ? "\\n" : NULL;
}

/* The format is UTF-8: a comm or path that is not becomes U+FFFD (utf8.h). */
void prom_escape_label(FILE *out, const char *s)
{
	utf8_write(out, s, label_escape);
}

void prom_escape_help(FILE *out, const char *s)
{
	utf8_write(out, s, help_escape);
}

void prom_fmt_double(char *buf, size_t len, double v)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void labels_add(struct prom_labels *l, const char *name, const char *value)
{
	if (l->n < PROM_MAX_LABELS) {
		l->name[l->n] = name;
		l->value[l->n] = value ? value : "";
		l->n++;
	}
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	p->family = name;
	fprintf(p->out, "# HELP %s ", name);
	prom_escape_help(p->out, help);
	fprintf(p->out, "\n# TYPE %s %s\n", name, type);
}

/* name{a="x",b="y"[,extra="v"]} */
static void sample_head(struct prom *p, const char *name, const struct prom_labels *l,
			const char *extra_name, const char *extra_value)
{
	int n = l ? l->n : 0;

	fputs(name, p->out);
	if (!n && !extra_name)
		return;
	fputc('{', p->out);
	for (int i = 0; i < n; i++) {
		fprintf(p->out, "%s%s=\"", i ? "," : "", l->name[i]);
		prom_escape_label(p->out, l->value[i]);
		fputc('"', p->out);
	}
	if (extra_name) {
		fprintf(p->out, "%s%s=\"", n ? "," : "", extra_name);
		prom_escape_label(p->out, extra_value);
		fputc('"', p->out);
	}
	fputc('}', p->out);
}

static bool sample_ok(struct prom *p, const char *name, const struct prom_labels *l)
{
	if (!prom_valid_name(name)) {
		p->errors++;
		return false;
	}
	for (int i = 0; l && i < l->n; i++)
		if (!prom_valid_name(l->name[i]) || strchr(l->name[i], ':')) {
			p->errors++;
			return false;
		}
	return true;
}

void prom_u64(struct prom *p, const char *name, const struct prom_labels *l, uint64_t v)
{
	if (!sample_ok(p, name, l))
		return;
	sample_head(p, name, l, NULL, NULL);
	fprintf(p->out, " %llu\n", (unsigned long long)v);
}

void prom_double(struct prom *p, const char *name, const struct prom_labels *l, double v)
{
	char num[40];

	if (!sample_ok(p, name, l))
		return;
	prom_fmt_double(num, sizeof(num), v);
	sample_head(p, name, l, NULL, NULL);
	fprintf(p->out, " %s\n", num);
}

void prom_one_u64(struct prom *p, const char *name, const char *type, const char *help, uint64_t v)
{
	prom_family(p, name, type, help);
	prom_u64(p, name, NULL, v);
}

void prom_one_double(struct prom *p, const char *name, const char *type, const char *help, double v)
{
	prom_family(p, name, type, help);
	prom_double(p, name, NULL, v);
}

void prom_hist(struct prom *p, const char *name, const struct prom_labels *l,
	       const struct hist64 *h, int first_slot, double div, double sum)
{
	char metric[160], le[40];
	uint64_t cum = 0;
	size_t nl = strlen(name);

	if (nl + 8 >= sizeof(metric) || !sample_ok(p, name, l))
		return;
	if (first_slot < 0)
		first_slot = 0;
	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (int i = 0; i < HIST_SLOTS - 1; i++) {
		cum += h->slots[i];
		if (i < first_slot)
			continue;
		prom_fmt_double(le, sizeof(le), (double)((1ull << i) - 1) / div);
		sample_head(p, metric, l, "le", le);
		fprintf(p->out, " %llu\n", (unsigned long long)cum);
	}
	cum += h->slots[HIST_SLOTS - 1];
	sample_head(p, metric, l, "le", "+Inf");
	fprintf(p->out, " %llu\n", (unsigned long long)cum);
	snprintf(metric, sizeof(metric), "%s_sum", name);
	prom_double(p, metric, l, sum);
	snprintf(metric, sizeof(metric), "%s_count", name);
	prom_u64(p, metric, l, cum);
}

void hist64_add(struct hist64 *dst, const struct hist *src)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
}

void hist64_merge(struct hist64 *dst, const struct hist64 *src)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
}

uint64_t hist64_total(const struct hist64 *h)
{
	uint64_t t = 0;

	for (int i = 0; i < HIST_SLOTS; i++)
		t += h->slots[i];
	return t;
}
