#!/usr/bin/env bash
# make deb: the Debian packages postgresql-NN-advlock-named, one per server
# version that pg_buildext supports here (debian/pgversions among the
# installed ones: 15 on Debian 12), built by dpkg-buildpackage in a scratch
# copy so the tree stays clean.  The .debs land in DEB_DIR (default: the top
# directory).  As root, missing build dependencies are installed.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

deb_dir=$(realpath "${DEB_DIR:-.}")
export DEBIAN_FRONTEND=noninteractive

if ! command -v dpkg-checkbuilddeps >/dev/null 2>&1; then
	is_root || die "missing prerequisite: dpkg-dev (install it, or run as root to have it installed)"
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends dpkg-dev >/dev/null
fi
if ! unmet=$(dpkg-checkbuilddeps 2>&1); then
	is_root || die "$unmet (install them, or run as root to have them installed)"
	say "installing the build dependencies"
	apt-get update -qq
	apt-get build-dep -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends ./ >/dev/null
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/advlock_named-deb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/src"
copy_tree "$scratch/src"	# the package build starts with make clean

say "dpkg-buildpackage in $scratch"
# debian/control follows the server versions installed here.
(cd "$scratch/src" && PG_UPDATECONTROL=yes dpkg-buildpackage -us -uc -b) >"$scratch/build.log" 2>&1 ||
	{ tail -n 40 "$scratch/build.log"; die "dpkg-buildpackage failed"; }

cp "$scratch"/*.deb "$deb_dir"/
for deb in "$scratch"/*.deb; do
	echo "$deb_dir/$(basename "$deb")"
done
