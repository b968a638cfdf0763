#!/bin/bash
# Host tests of the VM test bed's image builder (tools/vm/mkinitramfs.sh):
# the guest's modules and their load order come from the guest kernel's
# tree alone. A host modprobe "install" rule (Debian's ndctl ships one for
# libnvdimm) once replaced libnvdimm's insmod line, and every boot failed
# with "nfit.ko needs libnvdimm". Root: the rules are put in place in a
# private mount namespace, the host's own configuration is not touched.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/host/lib.sh
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CACHE=${DAXTRACE_CACHE:-$HOME/.cache/daxtrace}
ERA=6.12

if [ ! -f "$CACHE/kernels/$ERA/kver" ] || [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "SKIP testbed: needs root, unshare and the $ERA kernel fetched (tools/vm/fetch-kernels.sh $ERA)"
	summary
	exit 0
fi

# Debian's ndctl rule, word for word.
RULE='install libnvdimm /usr/bin/ndctl load-keys ; /sbin/modprobe --ignore-install libnvdimm $CMDLINE_OPTS'
mkdir "$TMP/conf.clean" "$TMP/conf.rule" "$TMP/conf.none"
echo "$RULE" >"$TMP/conf.rule/ndctl.conf"

# build NAME CONF [ENV...]: the image, in a namespace where every modprobe.d
# of the host holds only what directory CONF holds; exit status of the
# build; its module order in NAME.order, its messages in NAME.log.
build() {
	local name=$1 conf=$2 rc; shift 2
	unshare -m sh -c '
		for d in /etc/modprobe.d /lib/modprobe.d /run/modprobe.d; do
			[ ! -d "$d" ] || mount --bind "$1" "$d" || exit 1
		done
		shift; exec "$@"' sh "$conf" env "$@" tools/vm/mkinitramfs.sh $ERA "$TMP/$name.cpio" \
		>"$TMP/$name.log" 2>&1
	rc=$?
	[ $rc = 0 ] || sed "s/^/  $name: /" "$TMP/$name.log"
	[ ! -f "$TMP/$name.cpio" ] ||
		(cd "$TMP" && cpio -i --quiet --to-stdout modules/order <"$name.cpio" >"$name.order")
	return $rc
}

build clean "$TMP/conf.clean"
check "image builds with no host modprobe configuration" test $? = 0 -a -s "$TMP/clean.order"
check "its closure loads libnvdimm before nfit" sh -c "awk '/^libnvdimm.ko\$/ { l = NR } /^nfit.ko\$/ { n = NR }
	END { exit !(l && n && l < n) }' '$TMP/clean.order'"

build rule "$TMP/conf.rule"
check "host modprobe.d install rule for libnvdimm: the image still builds" test $? = 0
check "host modprobe.d install rule: same modules in the same order" cmp -s "$TMP/clean.order" "$TMP/rule.order"

build env "$TMP/conf.none" MODPROBE_OPTIONS="-C $TMP/conf.rule"
check "MODPROBE_OPTIONS naming a config with the rule: the image still builds" test $? = 0
check "MODPROBE_OPTIONS naming a config with the rule: same modules in the same order" \
	cmp -s "$TMP/clean.order" "$TMP/env.order"
summary
