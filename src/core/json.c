#include <math.h>
#include <inttypes.h>
#include "json.h"
#include "utf8.h"

void json_init(struct json *j, FILE *out)
{
	j->out = out;
	j->depth = 0;
	j->need_comma[0] = false;
	j->after_key = false;
}

/* Comma before any value that follows a sibling, unless it follows a key. */
static void sep(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->out);
	j->need_comma[j->depth] = true;
}

static void open_(struct json *j, char c)
{
	sep(j);
	fputc(c, j->out);
	if (j->depth < JSON_MAX_DEPTH - 1)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(struct json *j, char c)
{
	fputc(c, j->out);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_begin(struct json *j) { open_(j, '{'); }
void json_obj_end(struct json *j) { close_(j, '}'); }
void json_arr_begin(struct json *j) { open_(j, '['); }
void json_arr_end(struct json *j) { close_(j, ']'); }

static const char *json_escape(unsigned char c, char buf[8])
{
	switch (c) {
	case '"': return "\\\"";
	case '\\': return "\\\\";
	case '\n': return "\\n";
	case '\t': return "\\t";
	case '\r': return "\\r";
	default:
		if (c >= 0x20)
			return NULL;
		snprintf(buf, 8, "\\u%04x", c);
		return buf;
	}
}

/* Names and paths are bytes: invalid UTF-8 becomes U+FFFD (utf8.h). */
static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	utf8_write(out, s, json_escape);
	fputc('"', out);
}

void json_key(struct json *j, const char *key)
{
	sep(j);
	put_string(j->out, key);
	fputc(':', j->out);
	j->after_key = true;
}

void json_str(struct json *j, const char *s)
{
	sep(j);
	if (s)
		put_string(j->out, s);
	else
		fputs("null", j->out);
}

void json_u64(struct json *j, uint64_t v) { sep(j); fprintf(j->out, "%" PRIu64, v); }
void json_i64(struct json *j, int64_t v) { sep(j); fprintf(j->out, "%" PRId64, v); }
void json_bool(struct json *j, bool v) { sep(j); fputs(v ? "true" : "false", j->out); }
void json_null(struct json *j) { sep(j); fputs("null", j->out); }

void json_double(struct json *j, double v)
{
	sep(j);
	if (isfinite(v))
		fprintf(j->out, "%.15g", v);
	else
		fputs("null", j->out);	/* JSON has no NaN or Inf */
}

void json_line_end(struct json *j)
{
	fputc('\n', j->out);
	fflush(j->out);
	json_init(j, j->out);
}

void json_kv_str(struct json *j, const char *k, const char *v) { json_key(j, k); json_str(j, v); }
void json_kv_u64(struct json *j, const char *k, uint64_t v) { json_key(j, k); json_u64(j, v); }
void json_kv_i64(struct json *j, const char *k, int64_t v) { json_key(j, k); json_i64(j, v); }
void json_kv_double(struct json *j, const char *k, double v) { json_key(j, k); json_double(j, v); }
void json_kv_bool(struct json *j, const char *k, bool v) { json_key(j, k); json_bool(j, v); }

void json_kv_u64_or_null(struct json *j, const char *k, bool have, uint64_t v)
{
	json_key(j, k);
	have ? json_u64(j, v) : json_null(j);
}

void json_kv_double_or_null(struct json *j, const char *k, bool have, double v)
{
	json_key(j, k);
	have ? json_double(j, v) : json_null(j);
}

void json_kv_bool_or_null(struct json *j, const char *k, bool have, bool v)
{
	json_key(j, k);
	have ? json_bool(j, v) : json_null(j);
}
