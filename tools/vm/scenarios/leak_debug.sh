#!/bin/sh
. /daxtest/daxtest.sh
LIBBPF_LOG=debug daxtrace leak -d 2 -i 1 >/tmp/o 2>/tmp/e
info "rc=$?"
grep -B3 -A6 "processed .* insns" /tmp/e | head -n 40 | while read -r l; do info "$l"; done
daxtrace features 2>&1 | sed -n '/daxleak/,$p' | while read -r l; do info "F $l"; done
pass dbg done
