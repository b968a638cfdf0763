#!/bin/sh
# Fetch the Debian kernels the VM test bed boots, one per era (5.10, 6.1, 6.12, 7).
#
#   tools/vm/fetch-kernels.sh [--refresh] [ERA...]     (default: all eras)
#
# Fetches exactly the versions tools/vm/kernels.lock pins.  When a pinned version is
# no longer on the mirror it says so in one line and takes the era's newest kernel,
# leaving the lock alone; --refresh takes the newest of each era and rewrites the
# lock (an era without a lock line is added to it).  Uses a PRIVATE apt
# configuration and state dir (the system's sources are read for their mirror URIs
# only, see tools/vm/apt-mirror), downloads, unpacks only vmlinuz/config/System.map
# and the module dirs DAX tests need, decompresses modules and runs depmod.  A cached
# era that matches the lock is not fetched again.
# Result: $CACHE/kernels/ERA/{vmlinuz,config,kver,versions.txt,root/lib/modules/KVER}.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${DAXTRACE_CACHE:-$HOME/.cache/daxtrace}
KEYRING=${DAXTRACE_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
LOCK=${DAXTRACE_KERNELS_LOCK:-$HERE/kernels.lock}
ALL_ERAS="5.10 6.1 6.12 7"

# Module dirs (below kernel/) the guest needs: pmem drivers, filesystems, their libs,
# block drivers (null_blk, for make bench) and configfs (null_blk needs it).
MODDIRS="drivers/nvdimm drivers/acpi/nfit drivers/dax drivers/block fs/configfs fs/ext4 fs/xfs fs/jbd2 fs/mbcache lib crypto arch/x86/crypto"

log() { echo "fetch-kernels: $*" >&2; }
die() { log "error: $*"; exit 1; }

# era -> "main|security SUITE" lines (which archive, which suite), and the regex the
# linux-image package name must match.
era_suites() {
	case $1 in
	5.10) echo "main bullseye"
	      echo "security bullseye-security" ;;
	6.1) echo "main bookworm"
	     echo "main bookworm-updates"
	     # Debian ships 6.1 kernel updates through the security suite first.
	     echo "security bookworm-security" ;;
	6.12) echo "main bookworm-backports" ;;
	7) echo "main trixie-backports" ;;
	*) die "unknown era '$1' (known: $ALL_ERAS)" ;;
	esac
}
era_regex() {
	case $1 in
	5.10) echo '^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+(deb12|bpo)-amd64$' ;;
	7) echo '^linux-image-7\.[0-9]+\.[0-9]+\+deb13-amd64$' ;;
	esac
}

# The era's apt source lines; mirror URIs come from the system's apt sources.
era_sources() {
	era_suites "$1" | while read -r kind suite; do
		uri=$("$HERE/apt-mirror" "$kind") || exit 1
		echo "deb [signed-by=$KEYRING] $uri $suite main"
	done
}

# Private apt: every option that could touch system state points into $APTDIR.
apt_setup() {
	APTDIR=$CACHE/apt/$1
	mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/etc/preferences.d"
	era_sources "$1" >"$APTDIR/sources.list"
	APTOPTS="-o Dir::Etc::sourcelist=$APTDIR/sources.list -o Dir::Etc::sourceparts=-
		-o Dir::State::Lists=$APTDIR/lists -o Dir::Cache=$APTDIR/cache
		-o Dir::Etc::preferences=$APTDIR/etc/preferences -o Dir::Etc::preferencesparts=$APTDIR/etc/preferences.d
		-o Dir::State::extended_states=$APTDIR/extended_states
		-o APT::Sandbox::User=root -o Acquire::Languages=none -o APT::Get::List-Cleanup=1"
}
apt_() { cmd=$1; shift; # shellcheck disable=SC2086
	"$cmd" $APTOPTS "$@"; }

pkg_version() { # newest version of package $1 in the private lists
	apt_ apt-cache show "$1" 2>/dev/null | sed -n 's/^Version: //p' |
		while read -r v; do echo "$v"; done | sort_versions | tail -n 1
}
sort_versions() { # stable dpkg-order sort of versions on stdin (insertion sort; lists are tiny)
	set --
	while read -r v; do set -- "$@" "$v"; done
	out=""
	for v in "$@"; do
		new="" placed=0
		for o in $out; do
			if [ $placed = 0 ] && dpkg --compare-versions "$v" lt "$o"; then new="$new $v"; placed=1; fi
			new="$new $o"
		done
		[ $placed = 0 ] && new="$new $v"
		out=$new
	done
	for v in $out; do echo "$v"; done
}

# Record era's packages in kernels.lock (replace the era's line, keep the rest).
lock_write() { era=$1 kver=$2 pkgs=$3
	tmp=$LOCK.tmp.$$
	{
		echo "# Kernels the VM test bed boots (written by tools/vm/fetch-kernels.sh)."
		echo "# era  kernel-release  package=version[,package=version...]  fetched(UTC)"
		[ -f "$LOCK" ] && grep -v '^#' "$LOCK" | awk -v e="$era" '$1 != e'
		echo "$era  $kver  $pkgs  $(date -u +%Y-%m-%d)"
	} | awk '/^#/ {print; next} NF {print | "sort -V"}' >"$tmp"
	mv "$tmp" "$LOCK"
}

# The era's pinned packages from the lock ("p=v,p=v"), empty when it has no line.
lock_pkgs() { [ -f "$LOCK" ] && awk -v e="$1" '!/^#/ && $1 == e { print $3 }' "$LOCK" || true; }
# What a cache dir holds, in the lock's notation.
cache_pkgs() { [ -f "$1/versions.txt" ] && awk '{ printf "%s%s=%s", (NR > 1 ? "," : ""), $1, $2 }' "$1/versions.txt" || true; }
# Kernel release named by a package list (linux-image-KVER, linux-binary-KVER, ...).
pkgs_kver() { echo "${1%%=*}" | sed -E 's/^linux-(image|binary|modules|base)-//'; }

# Newest kernel of the era in the private lists, as "p=v,p=v".
newest_pkgs() { era=$1
	# Compare package versions, not names.
	best="" bestv=""
	for p in $(apt_ apt-cache search --names-only "$(era_regex "$era")" | awk '{print $1}' | grep -E "$(era_regex "$era")"); do
		v=$(pkg_version "$p")
		if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then best=$p bestv=$v; fi
	done
	[ -n "$best" ] || die "$era: no package matches $(era_regex "$era")"
	kver=${best#linux-image-}
	# 7.x splits the image into linux-binary (vmlinuz), linux-modules, linux-base (config, map).
	out=""
	for p in "linux-binary-$kver" "linux-modules-$kver" "linux-base-$kver"; do
		v=$(pkg_version "$p")
		[ -n "$v" ] && out="$out${out:+,}$p=$v"
	done
	echo "${out:-$best=$bestv}"
}

# Are all of "p=v,p=v" on the mirror (private lists)?  Not by apt-cache's exit code:
# `apt-cache show p=v` exits 0 for a version it does not know.
pkgs_available() {
	for pv in $(echo "$1" | tr , ' '); do
		apt_ apt-cache show "${pv%%=*}" 2>/dev/null | sed -n 's/^Version: //p' | grep -qxF "${pv#*=}" || return 1
	done
}

# Is the era's cache usable without the network?  Yes if it holds the locked packages,
# or the lock has no line (nothing pinned), or it is the fallback already fetched for
# this very lock line (the pinned one being gone from the mirror).
# A tree unpacked with another MODDIRS (older fetcher) lacks modules: unpack again.
moddirs_ok() { [ "$(cat "$1/moddirs" 2>/dev/null)" = "$MODDIRS" ]; }
cache_ok() { dir=$1 locked=$2
	[ -f "$dir/versions.txt" ] && [ -f "$dir/vmlinuz" ] && moddirs_ok "$dir" || return 1
	[ -z "$locked" ] && return 0
	[ "$(cache_pkgs "$dir")" = "$locked" ] && return 0
	[ "$(cat "$dir/fallback-for" 2>/dev/null)" = "$locked" ] || return 1
	gone_note "$era" "$locked" "$(cache_pkgs "$dir")"
}
gone_note() { # gone_note ERA LOCKED USED: the one line a stale lock gets
	log "$1: locked $2 is no longer on the mirror; using the era's newest, $3 (fetch-kernels.sh --refresh $1 rewrites the lock)"
}

fetch_era() { era=$1
	dir=$CACHE/kernels/$era
	locked=$(lock_pkgs "$era")
	if [ "$REFRESH" = 0 ] && cache_ok "$dir" "$locked"; then
		log "$era: cached ($(cat "$dir/kver")), not fetching"
		return 0
	fi
	apt_setup "$era"
	log "$era: apt-get update ($(sed 's/.*\] //' "$APTDIR/sources.list" | tr '\n' ';'))"
	apt_ apt-get -q update >"$APTDIR/update.log" 2>&1 || { cat "$APTDIR/update.log" >&2; die "$era: apt-get update failed"; }
	grep -Eq '^(W|E): .*(NO_PUBKEY|not signed|signature)' "$APTDIR/update.log" &&
		{ cat "$APTDIR/update.log" >&2; die "$era: signature check failed (keyring $KEYRING)"; }

	fallback=""
	if [ "$REFRESH" = 0 ] && [ -n "$locked" ] && pkgs_available "$locked"; then
		want=$locked
	else
		want=$(newest_pkgs "$era")
		[ "$REFRESH" = 0 ] && [ -n "$locked" ] && { fallback=$locked; gone_note "$era" "$locked" "$want"; }
	fi
	kver=$(pkgs_kver "$want")
	if [ "$(cache_pkgs "$dir")" = "$want" ] && [ -f "$dir/vmlinuz" ] && moddirs_ok "$dir"; then
		log "$era: cache already holds $want"
	else
		download_era "$era" "$kver" "$want"
	fi
	if [ -n "$fallback" ]; then echo "$fallback" >"$dir/fallback-for"; else rm -f "$dir/fallback-for"; fi
	# The lock changes only when asked (--refresh) or when it has no line for the era.
	if [ "$REFRESH" = 1 ] || [ -z "$locked" ]; then lock_write "$era" "$kver" "$want"; fi
}

download_era() { era=$1 kver=$2 want=$3
	log "$era: kernel $kver, packages: $want"
	stage=$dir.new
	rm -rf "$stage"; mkdir -p "$stage/debs" "$stage/root"
	for pv in $(echo "$want" | tr , ' '); do
		(cd "$stage/debs" && apt_ apt-get -q download "$pv" >/dev/null) || die "$era: download $pv failed"
		echo "${pv%%=*} ${pv#*=}" >>"$stage/versions.txt"
	done
	for deb in "$stage"/debs/*.deb; do
		unpack_deb "$deb" "$stage/root" "$kver"
	done
	finish_tree "$stage" "$kver"
	[ "${DAXTRACE_KEEP_DEBS:-0}" = 1 ] || rm -rf "$stage/debs"
	echo "$kver" >"$stage/kver"
	echo "$MODDIRS" >"$stage/moddirs"
	rm -rf "$dir"; mv "$stage" "$dir"
	log "$era: done: $(du -sh "$dir" | cut -f1) in $dir"
}

# Extract only the wanted members.  '*lib/modules' covers /lib and /usr/lib layouts.
unpack_deb() { deb=$1 root=$2 kver=$3
	set -- "./boot/*" "./*lib/modules/$kver/vmlinuz" "./*lib/modules/$kver/config" \
		"./*lib/modules/$kver/System.map" "./*lib/modules/$kver/modules.*"
	# "$d*" also catches single-file modules such as fs/mbcache.ko.
	for d in $MODDIRS; do set -- "$@" "./*lib/modules/$kver/kernel/$d*"; done
	err=$(dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$root" --wildcards "$@" 2>&1) || true
	# tar complains about patterns a package does not carry; anything else is real.
	echo "$err" | grep -v -e 'Not found in archive' -e 'Exiting with failure' -e '^$' >&2 && die "unpack $deb" || true
}

finish_tree() { stage=$1 kver=$2
	root=$stage/root
	# depmod/modprobe -d ROOT look in ROOT/lib/modules: normalise the usr-merged layout.
	if [ -d "$root/usr/lib/modules/$kver" ]; then
		mkdir -p "$root/lib/modules"
		cp -a "$root/usr/lib/modules/$kver" "$root/lib/modules/"
		rm -rf "$root/usr"
	fi
	m=$root/lib/modules/$kver
	[ -d "$m/kernel" ] || die "no modules unpacked for $kver"
	for f in vmlinuz config System.map; do
		src=$(ls "$root/boot/$f-$kver" "$m/$f" 2>/dev/null | head -n 1 || true)
		[ -n "$src" ] && cp "$src" "$stage/$f"
	done
	[ -f "$stage/vmlinuz" ] || die "no vmlinuz for $kver"
	rm -rf "$root/boot"
	# The guest's insmod wants plain .ko files.
	find "$m/kernel" -name '*.ko.xz' -exec xz -d -f {} +
	find "$m/kernel" -name '*.ko.zst' -exec zstd -q -d --rm -f {} +
	depmod -b "$root" "$kver"
}

REFRESH=0
[ "${1:-}" = --refresh ] && { REFRESH=1; shift; }
[ $# -gt 0 ] || set -- $ALL_ERAS
mkdir -p "$CACHE/kernels"
for era in "$@"; do
	era_suites "$era" >/dev/null
	fetch_era "$era"
done
# Aggregate view of what the cache holds, and the exact versions used.
for era in $ALL_ERAS; do
	f=$CACHE/kernels/$era/versions.txt
	[ -f "$f" ] && sed "s/^/$era /" "$f"
done >"$CACHE/kernels/versions.txt"
for era in "$@"; do
	echo "era $era: kernel $(cat "$CACHE/kernels/$era/kver")"
	sed 's/^/  /' "$CACHE/kernels/$era/versions.txt"
done
