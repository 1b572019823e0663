#!/usr/bin/env bash
# The version of a release is written in four places; they must agree:
# advlock_named.control (default_version), the Makefile (EXTVERSION),
# META.json (PGXN wants SemVer: 1.2 is written 1.2.0, for the distribution
# and for the extension it provides) and debian/changelog (the newest entry).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

control=$(sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" advlock_named.control)
makefile=$(sed -nE 's/^EXTVERSION *= *([^ ]+) *$/\1/p' Makefile)
[ -n "$control" ] || die "no default_version in advlock_named.control"
[ -n "$makefile" ] || die "no EXTVERSION in the Makefile"

# A two-part extension version X.Y is X.Y.0 in SemVer.
semver=$control
[[ $semver =~ ^[0-9]+\.[0-9]+$ ]] && semver=$semver.0

read -r meta provided < <(python3 -c '
import json, sys
meta = json.load(open("META.json"))
for key in ("name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"):
	if key not in meta:
		sys.exit("META.json has no " + key)
print(meta["version"], meta["provides"]["advlock_named"]["version"])
') || die "META.json is not valid"
debian=$(sed -nE '1s/^[^ ]+ \(([^)]+)\).*/\1/p' debian/changelog)

status=0
check() {	# what found expected
	if [ "$2" = "$3" ]; then
		printf '%-40s %s\n' "$1" "$2"
	else
		printf '%-40s %s, but should be %s\n' "$1" "$2" "$3"
		status=1
	fi
}
check "advlock_named.control default_version" "$control" "$control"
check "Makefile EXTVERSION" "$makefile" "$control"
check "META.json version" "$meta" "$semver"
check "META.json provides.advlock_named" "$provided" "$semver"
check "debian/changelog" "$debian" "$control"
[ "$status" -eq 0 ] || die "the release versions disagree"
