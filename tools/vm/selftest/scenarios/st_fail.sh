#!/bin/sh
# harness self-test: one PASS and one FAIL -> failed checks
. /daxtest/daxtest.sh
check_le le 5 4
check_within_pct pct 100 120 10
