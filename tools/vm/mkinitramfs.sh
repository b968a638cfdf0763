#!/bin/sh
# Build the test-bed initramfs for one kernel era.
#
#   tools/vm/mkinitramfs.sh ERA OUT [--gzip]
#
# Contents: busybox-static (+ applet symlinks), the pmem/fs module closure in insmod
# order, host mke2fs/mkfs.xfs/jq with their libraries, build/daxtrace and build/daxload
# when they exist, the guest init, test library and scenarios.  OUT is rebuilt only
# when an input changed (OUT.key holds the hash of all inputs).
# DAXTEST_BENCH_TOOLS=1 adds host fio (Debian package, with its libraries) and the
# null_blk closure in /modules/bench (insmod order in its order file; not loaded
# at boot: the bench scenario loads it).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${DAXTRACE_CACHE:-$HOME/.cache/daxtrace}
[ $# -ge 2 ] || { echo "usage: $0 ERA OUT [--gzip]" >&2; exit 2; }
ERA=$1 OUT=$2 GZIP=${3:-}
KDIR=$CACHE/kernels/$ERA
# Optional second scenario dir (the harness self-test uses it; not part of the matrix).
EXTRA=${DAXTEST_EXTRA_SCENARIOS:-}
log() { echo "mkinitramfs: $*" >&2; }

[ -f "$KDIR/kver" ] || "$HERE/fetch-kernels.sh" "$ERA" >/dev/null
KVER=$(cat "$KDIR/kver")
KROOT=$KDIR/root
MODS="nfit nd_pmem nd_e820 ext4 xfs"
# Host tools the guest runs by full path (busybox would shadow mke2fs otherwise).
HOSTBINS="/sbin/mke2fs /sbin/mkfs.xfs /usr/bin/jq"
OPTBINS="$REPO/build/daxtrace $REPO/build/daxload"
BENCH=${DAXTEST_BENCH_TOOLS:-}
BENCHMODS="null_blk"
[ -z "$BENCH" ] || [ -x /usr/bin/fio ] ||
	{ echo "mkinitramfs: DAXTEST_BENCH_TOOLS needs fio on the host: apt-get install fio" >&2; exit 1; }

# Insmod order: modprobe's dependency walk, first occurrence of each module wins.
# The guest kernel's tree only: no host configuration (-C /dev/null, no
# MODPROBE_OPTIONS). A host's modprobe.d install rule (Debian's ndctl has one
# for libnvdimm) would print "install CMD" instead of the module's insmod line
# and drop it from the image.
modlist() {
	env -u MODPROBE_OPTIONS modprobe -C /dev/null -d "$KROOT" -S "$KVER" -a --show-depends ${1:-$MODS} |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# Everything that determines the image, hashed: cheap compared to building it.
inputs_key() {
	{
		echo "$ERA $KVER $GZIP"
		cat "$KDIR/versions.txt"
		for f in $(modlist) ; do echo "$f"; done
		[ -z "$BENCH" ] || { echo bench; modlist "$BENCHMODS"; sha256sum /usr/bin/fio; }
		sha256sum "$0" "$HERE"/guest/* "$HERE"/scenarios/*.sh /bin/busybox $HOSTBINS /etc/mke2fs.conf
		[ -z "$EXTRA" ] || sha256sum "$EXTRA"/*.sh
		for f in $OPTBINS; do [ -f "$f" ] && sha256sum "$f" || echo "absent $f"; done
	} | sha256sum | cut -d' ' -f1
}

KEY=$(inputs_key)
if [ -f "$OUT" ] && [ "$(cat "$OUT.key" 2>/dev/null)" = "$KEY" ]; then
	log "$ERA: up to date ($OUT)"
	exit 0
fi

ST=$(mktemp -d "${TMPDIR:-/tmp}/daxtest-initrd.XXXXXX")
trap 'rm -rf "$ST"' EXIT
mkdir -p "$ST"/bin "$ST"/sbin "$ST"/usr/bin "$ST"/usr/sbin "$ST"/lib64 "$ST"/etc \
	"$ST"/proc "$ST"/sys "$ST"/dev "$ST"/tmp "$ST"/run "$ST"/mnt/dax "$ST"/modules \
	"$ST"/daxtest/scenarios

# busybox: every applet as /bin/NAME.
cp /bin/busybox "$ST/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -s busybox "$ST/bin/$a"
done

# Modules, flat, with their load order.
i=0
for m in $(modlist); do
	i=$((i + 1))
	rel=${m#"$KROOT"}
	cp "$KROOT$rel" "$ST/modules/"
	basename "$rel" >>"$ST/modules/order"
done
# modprobe stays silent about a dependency missing from the tree: check it here.
for m in $(cat "$ST/modules/order"); do
	for d in $(modinfo -F depends "$ST/modules/$m" | tr , ' '); do
		grep -qx "$(echo "$d" | tr _ -).ko\|$(echo "$d" | tr - _).ko\|$d.ko" "$ST/modules/order" ||
			{ log "error: $m needs $d, which is not in the module closure"; exit 1; }
	done
done
log "$ERA: $i modules: $(tr '\n' ' ' <"$ST/modules/order")"

# Host binaries and the shared libraries they load, at the same paths.
copy_with_libs() {
	cp "$1" "$ST/usr/${2:-sbin}/"
	ldd "$1" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
		mkdir -p "$ST$(dirname "$lib")"
		[ -f "$ST$lib" ] || cp -L "$lib" "$ST$lib"
	done
}
copy_with_libs /sbin/mke2fs
copy_with_libs /sbin/mkfs.xfs
copy_with_libs /usr/bin/jq bin
cp /etc/mke2fs.conf "$ST/etc/"
if [ -n "$BENCH" ]; then
	copy_with_libs /usr/bin/fio bin
	mkdir -p "$ST/modules/bench"
	for m in $(modlist "$BENCHMODS"); do
		cp "$m" "$ST/modules/bench/"
		basename "$m" >>"$ST/modules/bench/order"
	done
	log "$ERA: bench tools: fio, $(tr '\n' ' ' <"$ST/modules/bench/order")"
fi

# daxtrace/daxload: optional (other parts of the tree may not have built them yet).
for f in $OPTBINS; do
	if [ -x "$f" ]; then
		copy_with_libs "$f" bin
	else
		log "note: $f absent, the guest will skip checks that need it"
	fi
done
[ -x "$ST/usr/bin/daxtrace" ] && for l in daxtop daxleak; do ln -s daxtrace "$ST/usr/bin/$l"; done

cp "$HERE/guest/init" "$ST/init"
cp "$HERE/guest/daxtest.sh" "$ST/daxtest/daxtest.sh"
cp "$HERE"/scenarios/*.sh "$ST/daxtest/scenarios/"
[ -z "$EXTRA" ] || cp "$EXTRA"/*.sh "$ST/daxtest/scenarios/"
chmod 0755 "$ST/init" "$ST"/daxtest/scenarios/*.sh
echo "$KVER" >"$ST/etc/daxtest-kver"
echo "$ERA" >"$ST/etc/daxtest-era"

mkdir -p "$(dirname "$OUT")"
# Uncompressed cpio by default: under TCG the kernel's gunzip costs more than the copy.
(cd "$ST" && find . | sort | cpio -o -H newc --quiet -R 0:0) |
	if [ "$GZIP" = --gzip ]; then gzip -1; else cat; fi >"$OUT.tmp.$$"
mv "$OUT.tmp.$$" "$OUT"
echo "$KEY" >"$OUT.key"
log "$ERA: wrote $OUT ($(du -h "$OUT" | cut -f1))"
