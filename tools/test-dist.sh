#!/usr/bin/env bash
# make dist, and the distribution works on its own: unpacked into a scratch
# directory, it builds with PGXS against $PG_CONFIG, installs, and passes the
# regression suite against the running throwaway cluster (PGHOST/PGPORT).
# It installs the committed tree (HEAD): run-tests.sh installs the work tree
# again afterwards.  Exit 77: not a git checkout, so nothing to archive.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh
trap cleanup EXIT

git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	{ echo "skipped: not a git checkout, so make dist has nothing to archive"; exit 77; }
command -v unzip >/dev/null 2>&1 || { echo "skipped: needs unzip (apt-get install unzip)"; exit 77; }

version=$(sed -nE "s/^default_version *= *'([^']*)'.*/\1/p" advlock_named.control)
make_workdir
zip="$WORKDIR/dist.zip"
make -s PG_CONFIG="$PG_CONFIG" dist DIST="$zip"

# Everything in one directory named after the release, as PGXN wants it.
top=$(unzip -Z1 "$zip" | cut -d/ -f1 | sort -u)
[ "$top" = "advlock_named-$version" ] || die "the archive's top directory is '$top', not advlock_named-$version"

as_cluster_user unzip -q "$zip" -d "$WORKDIR"
cd "$WORKDIR/$top"
build_and_install
say "regression suite from the unpacked distribution"
as_cluster_user make -s PG_CONFIG="$PG_CONFIG" installcheck ISOLATION= TAP_TESTS= ||
	{ [ -f regression.diffs ] && head -n 100 regression.diffs; die "the regression suite failed"; }
