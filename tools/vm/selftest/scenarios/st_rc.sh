#!/bin/sh
# harness self-test: passes a check, then exits 3 -> failed (no FAIL line)
. /daxtest/daxtest.sh
check_ge ge 1 2
exit 3
