#!/bin/sh
# harness self-test: two passing checks -> scenario ok
. /daxtest/daxtest.sh
check_eq one 1 1
check_true true_cmd true
