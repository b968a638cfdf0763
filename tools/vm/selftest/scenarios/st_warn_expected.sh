#!/bin/sh
# harness self-test: a WARNING the scenario declared with expect_kernel_warn -> ok
. /daxtest/daxtest.sh
expect_kernel_warn 'at daxtest/selftest.c:2 '
echo "WARNING: CPU: 0 PID: $$ at daxtest/selftest.c:2 on purpose" >/dev/kmsg
check_eq ran 1 1
