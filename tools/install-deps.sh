#!/bin/sh
# Install everything daxtrace needs to build, test and run its VM test bed.
# Debian bookworm packages only; never touches the system's apt sources.
# Idempotent: packages already present are left alone.
set -eu

PKGS="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev
libcmocka-dev libncurses-dev pkg-config qemu-system-x86 busybox-static kmod
xz-utils zstd cpio e2fsprogs xfsprogs jq tmux file binutils uuid-runtime
gnupg debian-archive-keyring ca-certificates prometheus curl fio"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing; run as root to install them" >&2
	exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
