#!/bin/sh
# Regenerate vmlinux/vmlinux.h from a DAX-enabled kernel's BTF.
#   vmlinux/gen-vmlinux.sh                  # this machine's /sys/kernel/btf/vmlinux
#   vmlinux/gen-vmlinux.sh /path/to/vmlinux # an ELF vmlinux with a .BTF section, or a raw BTF file
# The header must contain the fs_dax tracepoint types (btf_trace_dax_*),
# so the kernel needs CONFIG_FS_DAX=y and CONFIG_DEBUG_INFO_BTF=y.
set -eu
src=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/vmlinux.h
tmp=$out.tmp
bpftool btf dump file "$src" format c > "$tmp"
if ! grep -q 'btf_trace_dax_pmd_fault_done' "$tmp"; then
	echo "gen-vmlinux: $src has no fs_dax tracepoint types (kernel without CONFIG_FS_DAX?)" >&2
	rm -f "$tmp"
	exit 1
fi
mv "$tmp" "$out"
echo "gen-vmlinux: wrote $out from $src ($(uname -r) if that is this machine's BTF)"
