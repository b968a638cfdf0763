#!/bin/sh
# harness self-test: a kernel WARNING appears (faked via /dev/kmsg) -> FAIL kernel_clean
. /daxtest/daxtest.sh
echo "WARNING: CPU: 0 PID: $$ at daxtest/selftest.c:1 unexpected" >/dev/kmsg
check_eq ran 1 1
