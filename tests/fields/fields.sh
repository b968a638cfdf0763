#!/bin/bash
# The field-list test: every JSON key path and every Prometheus sample name
# with its label names that the tools can write, compared with the
# committed list tests/fields/fields.golden. A key or metric renamed,
# dropped or added shows as a diff line; when the change is meant, run
#   tests/fields/fields.sh --update
# and commit the new list with the change (docs/design.md, "Field list").
#
# Where the list comes from (each line says which):
#   json DOC PATH      build/tests/fields_render: each writer run on made-up
#                      data that reaches every key (daxtop -o json, daxleak -o
#                      json, daxleak --now -o json); features and daxtop's
#                      start line from the real tools here, up to arrays
#   prom SAMPLE{LABELS} and prom FAMILY TYPE
#                      the exporter's writers on made-up series (render_export.c)
#   key LITERAL        every literal key passed to json_kv_*() / json_key() in src/
#   metric LITERAL     every "daxtrace_*" literal in src/ files that write Prometheus
# The real tools' outputs here (tracepoints only, no DAX device) must also
# fit the list: each of their paths outside arrays, families and label sets.
#   DAXTRACE_BIN=PATH  binary to run (default build/daxtrace)
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/host/lib.sh
BIN=${DAXTRACE_BIN:-$PWD/build/daxtrace}
RENDER=build/tests/fields_render
GOLDEN=tests/fields/fields.golden
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# json_paths DOC < NDJSON: "json DOC PATH" for every value, arrays as [].
json_paths() {
	jq -r --arg doc "$1" '[paths | map(if type == "number" then "[]" else . end)
		| join(".") | gsub("\\.\\[\\]"; "[]")] | .[] | "json \($doc) \(.)"'
}

# prom_lines < exposition: "prom FAMILY TYPE" and "prom SAMPLE{sorted label names}".
prom_lines() {
	awk '/^# TYPE / { print "prom " $3 " " $4; next }
	     /^#/ || NF == 0 { next }
	     { s = $1; name = s; sub(/\{.*/, "", name); labels = ""
	       if (s ~ /\{/) {
		       body = s; sub(/^[^{]*\{/, "", body); sub(/\}$/, "", body)
		       n = 0
		       while (match(body, /^[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?/)) {
			       kv = substr(body, 1, RLENGTH); body = substr(body, RLENGTH + 1)
			       sub(/=.*/, "", kv); k[++n] = kv
		       }
		       for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			       if (k[j] < k[i]) { t = k[i]; k[i] = k[j]; k[j] = t }
		       for (i = 1; i <= n; i++) labels = labels (i > 1 ? "," : "") k[i]
	       }
	       print "prom " name "{" labels "}" }'
}

# The made-up renders, split at their "@ DOC" lines.
render_lines() {
	"$RENDER" >"$TMP/render" || return 1
	awk -v dir="$TMP" '/^@ / { f = dir "/doc." $2; next } { print > f }' "$TMP/render"
	for f in "$TMP"/doc.*; do
		d=${f##*/doc.}
		case $d in
		export.*) prom_lines <"$f" ;;
		*) json_paths "$d" <"$f" ;;
		esac
	done
}

# Literal keys and metric names at the writers' call sites, and in the
# table of daxtop's counters (src/top/daxtop_counters.c: .json keys and
# the Prometheus families the writers take from it).
COUNTERS=src/top/daxtop_counters.c
static_lines() {
	find src -name '*.c' | sort | xargs perl -0777 -ne \
		'while (/\bjson_(?:kv_\w+|key)\s*\(\s*[^,()]+,\s*"((?:[^"\\]|\\.)*)"/g) { print "key $1\n" }'
	perl -ne 'while (/\.json\s*=\s*"((?:[^"\\]|\\.)*)"/g) { print "key $1\n" }' "$COUNTERS"
	{ grep -l '#include "prom.h"' $(find src -name '*.c'); echo "$COUNTERS"; } | xargs perl -ne \
		'while (/"(daxtrace_[a-z0-9_]+)"/g) { print "metric $1\n" }'
}

# The real tools on this kernel, outputs into $TMP/real.*.
real_runs() {
	"$BIN" features -o json >"$TMP/real.features" 2>"$TMP/err.features"
	timeout 30 "$BIN" top -o json -i 0.2 -d 0.5 --hist >"$TMP/real.top" 2>"$TMP/err.top"
	timeout 30 "$BIN" leak -o json -i 0.2 -d 0.5 >"$TMP/real.leak" 2>"$TMP/err.leak"
	timeout 30 "$BIN" leak --now -o json >"$TMP/real.now" 2>"$TMP/err.now"
	timeout 30 "$BIN" export --textfile "$TMP/real.prom" -i 0.2 --per-file \
		>/dev/null 2>"$TMP/err.export" &
	local pid=$! i=0
	while [ ! -s "$TMP/real.prom" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	cp "$TMP/real.prom" "$TMP/real.export" 2>/dev/null
	kill -INT $pid 2>/dev/null
	wait $pid 2>/dev/null
}

# real_json DOC TYPE FILE: paths outside arrays of the records of TYPE ("" = all).
real_json() {
	jq -c --arg t "$2" 'select($t == "" or .type == $t)' "$3" | json_paths "$1" | grep -v '\[\]'
}

generate() {
	{
		render_lines || echo "render failed"
		static_lines
		if [ "$ROOT" = 1 ]; then
			real_json features "" "$TMP/real.features"
			real_json top.start start "$TMP/real.top"
		fi
	} | LC_ALL=C sort -u
}

ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
if [ ! -x "$RENDER" ]; then
	fail "field list" "$RENDER missing: run make fields-test"
	summary
	exit
fi
[ "$ROOT" = 1 ] && real_runs
generate >"$TMP/list"

if [ "${1:-}" = --update ]; then
	[ "$ROOT" = 1 ] || { echo "fields.sh --update: run as root (features and daxtop's start line come from the real tools)" >&2; exit 1; }
	cp "$TMP/list" "$GOLDEN"
	echo "wrote $GOLDEN ($(wc -l <"$GOLDEN") lines)"
	exit 0
fi

want=$GOLDEN
if [ "$ROOT" = 0 ]; then
	echo "SKIP features and daxtop's start line: not root"
	grep -v -e '^json features ' -e '^json top\.start ' "$GOLDEN" >"$TMP/golden"
	want=$TMP/golden
fi
LC_ALL=C diff "$want" "$TMP/list" >"$TMP/diff"
if [ $? = 0 ]; then
	pass "field list matches $GOLDEN ($(wc -l <"$TMP/list") lines)"
else
	fail "field list differs from $GOLDEN (-: only in fields.golden, +: only in the code; if meant, tests/fields/fields.sh --update)" \
		"$(grep '^[<>]' "$TMP/diff" | sed 's/^</-/; s/^>/+/' | head -40 | tr '\n' ';')"
fi

# The comparison must see a dropped line (the check checks something).
sed 1d "$TMP/list" | LC_ALL=C diff -q - "$TMP/list" >/dev/null
check "a dropped line would be seen" test $? = 1

# The real outputs here must fit the list (it misses nothing they write).
fits() {	# NAME FILE-OF-LINES
	local missing
	missing=$(LC_ALL=C sort -u "$2" | LC_ALL=C comm -23 - "$TMP/list")
	if [ -z "$missing" ] && [ -s "$2" ]; then
		pass "$1"
	elif [ ! -s "$2" ]; then
		fail "$1" "no output"
	else
		fail "$1" "not in the list: $(echo "$missing" | head -10 | tr '\n' ';')"
	fi
}
if [ "$ROOT" = 1 ]; then
	for t in interval total; do
		real_json "top.$t" $t "$TMP/real.top" >"$TMP/fit.top.$t"
		fits "daxtop -o json ($t) fits the list" "$TMP/fit.top.$t"
	done
	for t in start report summary; do
		real_json "leak.$t" $t "$TMP/real.leak" >"$TMP/fit.leak.$t"
		fits "daxleak -o json ($t) fits the list" "$TMP/fit.leak.$t"
	done
	real_json now now "$TMP/real.now" >"$TMP/fit.now"
	fits "daxleak --now -o json fits the list" "$TMP/fit.now"
	prom_lines <"$TMP/real.export" >"$TMP/fit.export"
	fits "export metrics (families, label sets) fit the list" "$TMP/fit.export"
fi
summary
