#!/bin/sh
# Run cmocka unit test binaries from the repository root; fail if any fails.
set -u
cd "$(dirname "$0")/.." || exit 1
fail=0
for t in "$@"; do
	"$t" || fail=1
done
exit $fail
