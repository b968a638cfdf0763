/* The one JSON writer used by every subcommand's -o json output.
 * Nesting and commas are tracked here so callers only say what to write. */
#ifndef DAXTRACE_JSON_H
#define DAXTRACE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool after_key;
};

void json_init(struct json *j, FILE *out);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* End one top-level value: newline (NDJSON) and flush. */
void json_line_end(struct json *j);

/* key + value shorthands */
void json_kv_str(struct json *j, const char *k, const char *v);
void json_kv_u64(struct json *j, const char *k, uint64_t v);
void json_kv_i64(struct json *j, const char *k, int64_t v);
void json_kv_double(struct json *j, const char *k, double v);
void json_kv_bool(struct json *j, const char *k, bool v);
/* v, or null where the value is not known (have false) */
void json_kv_u64_or_null(struct json *j, const char *k, bool have, uint64_t v);
void json_kv_double_or_null(struct json *j, const char *k, bool have, double v);
void json_kv_bool_or_null(struct json *j, const char *k, bool have, bool v);

#endif
