#!/bin/bash
# Host test of fetch-kernels.sh's pinning: fake apt-get/apt-cache on PATH serve a
# made-up catalogue (tiny .deb files built on the spot), so no network is used.
#   tools/vm/selftest-fetch.sh
# Checks: the locked version is fetched even when a newer one exists; a cached era
# that matches the lock needs neither network nor apt sources; a locked version gone
# from the mirror gives one line, the era's newest, and an untouched lock; --refresh
# rewrites the lock; an era without a lock line is added; no sources -> clear error.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/selftest/lib.sh" fetch
T=$TMP
check() { # check NAME CMD...
	local n=$1; shift
	if "$@"; then ok "$n"; else ko "$n"; fi
}

# ---- fake apt: catalogue "PACKAGE VERSION" lines in $FAKE_APT/catalog ---------------
mkdir -p "$T/bin" "$T/apt/sources.list.d"
export FAKE_APT=$T
cat >"$T/bin/apt-cache" <<'EOF'
#!/bin/bash
# fake apt-cache: show PKG[=VER] | search --names-only ERE (apt's -o options ignored)
args=(); while [ $# -gt 0 ]; do [ "$1" = -o ] && shift || args+=("$1"); shift; done
set -- "${args[@]}"
case $1 in
show) p=${2%%=*} v=; [[ $2 == *=* ]] && v=${2#*=}
	out=$(awk -v p="$p" -v v="$v" '$1 == p && (v == "" || $2 == v) { print "Package: " $1 "\nVersion: " $2 "\n" }' "$FAKE_APT/catalog")
	# Like apt-cache: a package or version it does not know is a notice, exit 0.
	[ -n "$out" ] || { echo "N: Unable to locate package $2" >&2; exit 0; }
	echo "$out" ;;
search) awk '{ print $1 }' "$FAKE_APT/catalog" | sort -u | grep -E "${3:-.}" | sed 's/$/ - fake kernel/' ;;
esac
EOF
cat >"$T/bin/apt-get" <<'EOF'
#!/bin/bash
# fake apt-get: update (records the private sources list) | download PKG=VER
args=(); while [ $# -gt 0 ]; do
	case $1 in -o) [[ $2 == Dir::Etc::sourcelist=* ]] && list=${2#*=}; shift ;; -q) ;; *) args+=("$1") ;; esac
	shift
done
set -- "${args[@]}"
echo "$1 ${2:-}" >>"$FAKE_APT/calls"
case $1 in
update) cp "$list" "$FAKE_APT/last-sources" ;;
download) p=${2%%=*} v=${2#*=}
	grep -qx "$p $v" "$FAKE_APT/catalog" || { echo "E: no $2" >&2; exit 100; }
	k=${p#linux-image-} r=$(mktemp -d)
	mkdir -p "$r/DEBIAN" "$r/boot" "$r/lib/modules/$k/kernel/fs/ext4"
	printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: x <x@x>\nDescription: fake\n' "$p" "$v" >"$r/DEBIAN/control"
	echo "$2" >"$r/boot/vmlinuz-$k"; echo "# $2" >"$r/boot/config-$k"
	: >"$r/lib/modules/$k/kernel/fs/ext4/placeholder"
	for f in order builtin builtin.modinfo; do : >"$r/lib/modules/$k/modules.$f"; done
	dpkg-deb -Zgzip --build "$r" "./${p}_${v}_amd64.deb" >/dev/null && rm -rf "$r" ;;
esac
EOF
chmod +x "$T/bin/apt-cache" "$T/bin/apt-get"
cat >"$T/apt/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian bookworm main
deb http://sec.example/debian-security bookworm-security main
EOF

LOCKF=$T/kernels.lock
OLD="linux-image-6.1.0-56-amd64=6.1.190-1"
NEW="linux-image-6.1.0-57-amd64=6.1.192-3"
printf '# test lock\n6.1  6.1.0-56-amd64  %s  2026-01-01\n' "$OLD" >"$LOCKF"
cp "$LOCKF" "$T/lock.orig"
fetch() { # fetch [ARGS...]: run with the fakes; output in $T/out, calls in $T/calls
	: >"$T/calls"
	env -u DAXTRACE_MIRROR -u DAXTRACE_SECMIRROR PATH="$T/bin:$PATH" DAXTRACE_CACHE="$T/cache" \
		DAXTRACE_KERNELS_LOCK="$LOCKF" DAXTRACE_APT_ETC="${APT_ETC:-$T/apt}" \
		"$HERE/fetch-kernels.sh" "$@" >"$T/out" 2>&1
}
K=$T/cache/kernels/6.1
printf '%s\n' "linux-image-6.1.0-56-amd64 6.1.190-1" "linux-image-6.1.0-57-amd64 6.1.192-3" >"$T/catalog"

# 1. Both on the mirror: the locked one is fetched, not the newest.
fetch 6.1; rc=$?
check "pinned: exit 0" [ $rc = 0 ]
check "pinned: locked version downloaded" grep -qx "download $OLD" "$T/calls"
check "pinned: newer version not downloaded" bash -c "! grep -q 'download linux-image-6.1.0-57' '$T/calls'"
check "pinned: cache holds the locked kernel" grep -qx 6.1.0-56-amd64 "$K/kver"
check "pinned: lock untouched" cmp -s "$LOCKF" "$T/lock.orig"
check "mirrors taken from the apt sources" grep -q 'http://mirror.example/debian bookworm main' "$T/last-sources"
check "security mirror taken from the apt sources" grep -q 'http://sec.example/debian-security bookworm-security main' "$T/last-sources"
# 2. Cached and matching the lock: no apt at all, not even sources.
APT_ETC=$T/none fetch 6.1; rc=$?
check "cached: exit 0 without apt sources" [ $rc = 0 ]
check "cached: apt not called" [ ! -s "$T/calls" ]

# 3. A fresh machine after the locked version left the mirror: one line, the
# newest, the lock kept.
echo "linux-image-6.1.0-57-amd64 6.1.192-3" >"$T/catalog"
rm -rf "$T/cache"
fetch 6.1; rc=$?
check "gone: exit 0" [ $rc = 0 ]
check "gone: newest downloaded" grep -qx "download $NEW" "$T/calls"
check "gone: said in one line" [ "$(grep -c "locked $OLD is no longer on the mirror; using the era's newest, $NEW" "$T/out")" = 1 ]
check "gone: lock untouched" cmp -s "$LOCKF" "$T/lock.orig"
check "gone: cache holds the newest" grep -qx 6.1.0-57-amd64 "$K/kver"
# 4. Again: the fallback in the cache is reused offline, and still reported.
APT_ETC=$T/none fetch 6.1; rc=$?
check "gone, cached: exit 0" [ $rc = 0 ]
check "gone, cached: apt not called" [ ! -s "$T/calls" ]
check "gone, cached: still said in one line" [ "$(grep -c 'is no longer on the mirror' "$T/out")" = 1 ]

# 5. --refresh rewrites the lock to the newest (already cached: no download).
fetch --refresh 6.1; rc=$?
check "refresh: exit 0" [ $rc = 0 ]
check "refresh: lock now pins the newest" grep -Eq "^6\.1 +6\.1\.0-57-amd64 +$NEW " "$LOCKF"
check "refresh: cached newest not downloaded again" bash -c "! grep -q '^download' '$T/calls'"
check "refresh: no stale-lock line" bash -c "! grep -q 'no longer on the mirror' '$T/out'"

# 6. A lock with no line for the era: the newest is fetched and its line added.
printf '# test lock\n' >"$LOCKF"
rm -rf "$T/cache"
fetch 6.1; rc=$?
check "unlocked era: exit 0" [ $rc = 0 ]
check "unlocked era: line added" grep -Eq "^6\.1 +6\.1\.0-57-amd64 +$NEW " "$LOCKF"

# 7. Nothing cached and no Debian source configured: a clear error, exit 1.
rm -rf "$T/cache"
APT_ETC=$T/none fetch 6.1; rc=$?
check "no sources: exit 1" [ $rc = 1 ]
check "no sources: says which variable to set" grep -q 'no Debian archive .*DAXTRACE_MIRROR=URI' "$T/out"
check "no sources: apt not called" [ ! -s "$T/calls" ]
fetch 9.9 ; rc=$?
check "unknown era: exit 1" [ $rc = 1 ]
check "unknown era: names the known eras" grep -q "unknown era '9.9' (known: 5.10 6.1 6.12 7)" "$T/out"

[ $NF = 0 ] || { echo "--- last fetch-kernels output"; cat "$T/out"; }
st_summary
