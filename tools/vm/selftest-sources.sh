#!/bin/bash
# Host test of tools/vm/apt-mirror (the apt sources parser fetch-kernels.sh takes its
# mirrors from): one-line and deb822 files in a temporary apt dir, made-up hosts.
#   tools/vm/selftest-sources.sh
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/selftest/lib.sh" sources
unset DAXTRACE_MIRROR DAXTRACE_SECMIRROR

# expect NAME ETC KIND WANT-OUTPUT|error:ERE
expect() {
	local out rc
	out=$(DAXTRACE_APT_ETC=$2 "$HERE/apt-mirror" "$3" 2>&1)
	rc=$?
	case $4 in
	error:*)
		if [ $rc = 1 ] && [ "$(echo "$out" | wc -l)" = 1 ] && echo "$out" | grep -Eq "${4#error:}"; then
			ok "$1"
		else ko "$1 (want exit 1 and one line matching /${4#error:}/, got rc=$rc: $out)"; fi ;;
	*)
		if [ $rc = 0 ] && [ "$out" = "$4" ]; then ok "$1"; else ko "$1 (want $4, got rc=$rc: $out)"; fi ;;
	esac
}
mk() { mkdir -p "$TMP/$1/sources.list.d"; echo "$TMP/$1"; }

# One-line format: comments, disabled lines, deb-src, options, trailing slash.
E=$(mk oneline)
cat >"$E/sources.list" <<'EOF'
# deb http://commented.example/debian bookworm main
#deb http://disabled.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [ signed-by=/usr/share/keyrings/x.gpg arch=amd64 ] http://mirror.example/debian/ bookworm main contrib # why
deb [signed-by=/usr/share/keyrings/x.gpg] http://sec.example/debian-security bookworm-security main
EOF
expect "one-line: main mirror, options and comments skipped" "$E" main http://mirror.example/debian
expect "one-line: security mirror" "$E" security http://sec.example/debian-security

# deb822: disabled stanza first, comments inside stanzas, an inline Signed-By key,
# case-insensitive field names, several URIs and suites.
E=$(mk deb822)
cat >"$E/sources.list.d/debian.sources" <<'EOF'
# the old mirror, kept for reference
Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb-src deb
# a comment inside the stanza
uris: http://first.example/debian/ http://second.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 URIs: http://inline-key.example/debian
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://sec.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
expect "deb822: main mirror, disabled stanza skipped" "$E" main http://first.example/debian
expect "deb822: security mirror" "$E" security http://sec.example/debian-security

# Non-Debian sources (nodesource-style) and files apt ignores do not count.
E=$(mk foreign)
cat >"$E/sources.list.d/node.sources" <<'EOF'
Types: deb
URIs: https://node.example/node_20.x
Suites: nodistro
Components: main
EOF
echo "deb http://ignored.example/debian bookworm main" >"$E/sources.list.d/old.list.disabled"
echo "deb https://cloud.example/apt cloud-sdk-bookworm main" >"$E/sources.list.d/cloud.list"
expect "foreign sources only: clear error" "$E" main 'error:^apt-mirror: error: no Debian archive .*DAXTRACE_MIRROR=URI$'
# .list in sources.list.d, after sources.list; backports/updates suites count as main.
echo "deb http://bpo.example/debian bookworm-backports main" >"$E/sources.list.d/z.list"
expect "sources.list.d/*.list: backports suite" "$E" main http://bpo.example/debian
expect "no security suite: clear error" "$E" security 'error:no Debian security archive .*DAXTRACE_SECMIRROR=URI$'
# Old-style security suite (CODENAME/updates).
echo "deb http://oldsec.example/debian-security buster/updates main" >"$E/sources.list.d/y.list"
expect "buster/updates counts as security" "$E" security http://oldsec.example/debian-security

# Nothing configured at all; a missing apt dir.
E=$(mk empty)
expect "no sources: clear error" "$E" main 'error:no Debian archive'
expect "no apt dir: clear error" "$TMP/absent" security 'error:no Debian security archive'

# The environment wins over the files.
out=$(DAXTRACE_APT_ETC=$TMP/empty DAXTRACE_MIRROR=http://env.example/debian/ "$HERE/apt-mirror" main)
[ "$out" = http://env.example/debian ] && ok "DAXTRACE_MIRROR overrides" || ko "DAXTRACE_MIRROR: got $out"
out=$(DAXTRACE_APT_ETC=$TMP/empty DAXTRACE_SECMIRROR=http://envsec.example/ds "$HERE/apt-mirror" security)
[ "$out" = http://envsec.example/ds ] && ok "DAXTRACE_SECMIRROR overrides" || ko "DAXTRACE_SECMIRROR: got $out"
"$HERE/apt-mirror" bogus >/dev/null 2>&1
[ $? = 2 ] && ok "bad usage exits 2" || ko "bad usage exit code"

st_summary
