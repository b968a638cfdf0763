#include <string.h>

#include "hist_user.h"

/* Slot i holds values in [2^(i-1), 2^i); slot 0 holds zero. */
static uint64_t slot_low(int i) { return i == 0 ? 0 : 1ull << (i - 1); }
static uint64_t slot_high(int i) { return i == 0 ? 0 : (1ull << i) - 1; }

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] += src->slots[i];
}

void hist_diff(struct hist *dst, const struct hist *a, const struct hist *b)
{
	for (int i = 0; i < HIST_SLOTS; i++)
		dst->slots[i] = a->slots[i] >= b->slots[i] ? a->slots[i] - b->slots[i] : 0;
}

uint64_t hist_total(const struct hist *h)
{
	uint64_t t = 0;

	for (int i = 0; i < HIST_SLOTS; i++)
		t += h->slots[i];
	return t;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t total = hist_total(h), seen = 0, want;

	if (!total)
		return 0;
	want = (uint64_t)((p / 100.0) * total + 0.999999);
	if (want == 0)
		want = 1;
	for (int i = 0; i < HIST_SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= want)
			return slot_high(i);
	}
	return slot_high(HIST_SLOTS - 1);
}

void hist_print(FILE *out, const struct hist *h, const char *unit, uint64_t div)
{
	int first = -1, last = -1;
	unsigned int max = 0;
	const int width = 40;

	if (!div)
		div = 1;
	for (int i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		if (first < 0)
			first = i;
		last = i;
		if (h->slots[i] > max)
			max = h->slots[i];
	}
	if (first < 0) {
		fprintf(out, "     (no samples)\n");
		return;
	}
	fprintf(out, "%24s : %-10s %s\n", unit, "count", "distribution");
	for (int i = first; i <= last; i++) {
		char range[48];
		int stars = (int)((uint64_t)h->slots[i] * width / max);

		snprintf(range, sizeof(range), "%llu -> %llu",
			 (unsigned long long)(slot_low(i) / div),
			 (unsigned long long)(slot_high(i) / div));
		fprintf(out, "%24s : %-10u |", range, h->slots[i]);
		for (int s = 0; s < width; s++)
			fputc(s < stars ? '*' : ' ', out);
		fputs("|\n", out);
	}
}

void hist_json(struct json *j, const struct hist *h, const char *unit, uint64_t div)
{
	if (!div)
		div = 1;
	json_obj_begin(j);
	json_kv_str(j, "unit", unit);
	json_kv_u64(j, "total", hist_total(h));
	json_key(j, "buckets");
	json_arr_begin(j);
	for (int i = 0; i < HIST_SLOTS; i++) {
		if (!h->slots[i])
			continue;
		json_obj_begin(j);
		json_kv_u64(j, "le", slot_high(i) / div);
		json_kv_u64(j, "count", h->slots[i]);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_obj_end(j);
}
