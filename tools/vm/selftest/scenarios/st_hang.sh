#!/bin/sh
# harness self-test: hangs past daxtest.timeout -> the guest kills it (FAIL timeout)
. /daxtest/daxtest.sh
check_eq before_hang x x
sleep 1000
