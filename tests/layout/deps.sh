#!/bin/bash
# The user-space tree's dependency rules (docs/design.md), from the built
# objects' symbols: file A depends on file B when A uses a symbol B
# defines. No cycles between files, and folders depend only downwards:
# core on core; top, leak and bench on core; export on core, top and leak;
# main.c and features.c (src/) on anything.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/host/lib.sh
OBJ=build/obj
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ ! -d "$OBJ/core" ]; then
	fail "dependency rules" "$OBJ/core missing: run make all"
	summary
	exit
fi
# "D file sym" / "U file sym", file named by its path under src/ (core/probe).
for o in $(find "$OBJ" -name '*.o' ! -path "$OBJ/fields/*" ! -name version.o | sort); do
	f=${o#$OBJ/}
	f=${f%.o}
	nm "$o" | awk -v f="$f" '$1 == "U" { print "U", f, $2; next }
		$2 ~ /^[TDBRVW]$/ { print "D", f, $3 }'
done >"$TMP/syms"
awk '$1 == "D" { def[$3] = $2; next }
     { use[NR] = $2 " " $3 }
     END { for (i in use) { split(use[i], u, " ")
		if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]], u[2] } }' \
	"$TMP/syms" | sort -u >"$TMP/edges"

check "symbols between files were found" test -s "$TMP/edges"
awk '{ print $1, $2 }' "$TMP/edges" | sort -u | tsort >/dev/null 2>"$TMP/tsort"
if [ -s "$TMP/tsort" ]; then
	fail "no cycles between files" "$(grep -v '^tsort: cycle in data' "$TMP/tsort" | sed 's/^tsort: //' | tr '\n' ' ')"
else
	pass "no cycles between files"
fi

folder() { case $1 in */*) echo "${1%%/*}" ;; *) echo src ;; esac; }
allowed() {	# FROM TO
	case $1 in
	core) [ "$2" = core ] ;;
	top | leak | bench) [ "$2" = core ] || [ "$2" = "$1" ] ;;
	export) [ "$2" != bench ] && [ "$2" != src ] ;;
	src) true ;;
	*) false ;;
	esac
}
bad=""
while read -r from to sym; do
	a=$(folder "$from") b=$(folder "$to")
	allowed "$a" "$b" || bad="$bad $from -> $to ($sym);"
done <"$TMP/edges"
if [ -z "$bad" ]; then pass "folders depend only downwards"; else fail "folders depend only downwards" "$bad"; fi
summary
