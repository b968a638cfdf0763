# Shared by the harness self-tests (bash): a temp dir removed at exit, pass/fail
# counters and their lines; the caller ends with `st_summary`.
#   . "$HERE/selftest/lib.sh" NAME     -> $TMP = fresh temp dir
TMP=$(mktemp -d "${TMPDIR:-/tmp}/daxtest-$1.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
NP=0 NF=0
ok() { echo "ok   $*"; NP=$((NP + 1)); }
ko() { echo "FAIL $*"; NF=$((NF + 1)); }
st_summary() { echo "$NP passed, $NF failed"; [ "$NF" = 0 ]; }
