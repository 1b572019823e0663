#!/usr/bin/env bash
# The Debian package end to end, as root: make deb, install the package with
# apt (which may also upgrade postgresql-NN to the minor version it depends
# on), check that dpkg put the files where the system's PostgreSQL looks for
# them, run the regression suite against the installed files on a throwaway
# cluster of the system's server (debian/tests/installcheck, the
# autopkgtest), remove the package and check that the files are gone.
#
# If make test installed the extension into the system's tree (PG_CONFIG is
# the system's), the package overwrites those files and its removal deletes
# them, so they are installed again at the end.
#
# Exit 77: skipped (not root, or the package or a hand-made install is
# already there and would be replaced).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

is_root || { echo "skipped: needs root (it installs and removes the package with apt)"; exit 77; }

package=postgresql-$PG_MAJOR-advlock-named
system_pg_config=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
libdir=/usr/lib/postgresql/$PG_MAJOR/lib
extdir=/usr/share/postgresql/$PG_MAJOR/extension
files=("$libdir/advlock_named.so" "$extdir/advlock_named.control")
for script in sql/advlock_named--*.sql; do
	files+=("$extdir/$(basename "$script")")
done

if dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q ' installed$'; then
	echo "skipped: $package is installed here already, and this test would remove it"
	exit 77
fi
reinstall=0
if [ -e "${files[0]}" ]; then
	[ -x "$system_pg_config" ] && [ "$("$PG_CONFIG" --pkglibdir)" -ef "$libdir" ] || {
		echo "skipped: ${files[0]} was installed by hand, and this test would remove it"
		exit 77
	}
	reinstall=1
fi

export DEBIAN_FRONTEND=noninteractive
apt_get() { apt-get -y -qq -o DPkg::Lock::Timeout=300 "$@" >/dev/null; }
installed=0
finish() {
	[ "$installed" = 1 ] && apt_get remove "$package"
	cleanup
}
trap finish EXIT

make_workdir
say "make deb"
DEB_DIR=$WORKDIR make -s PG_CONFIG="$PG_CONFIG" deb
say "apt-get install $package"
apt_get install "$WORKDIR/${package}_"*.deb
installed=1

listed=$(dpkg -L "$package")
for file in "${files[@]}"; do
	grep -qxF "$file" <<<"$listed" || die "$package does not list $file"
	[ -f "$file" ] || die "$file is missing"
done
say "dpkg -L $package: the library in $libdir, the control file and the scripts in $extdir"

# The regression inputs from the tree, the extension from the package.
mkdir "$WORKDIR/src"
copy_tree "$WORKDIR/src"
say "debian/tests/installcheck (pg_virtualenv, server $("$system_pg_config" --version))"
(cd "$WORKDIR/src" && PGPORT=$(free_port) debian/tests/installcheck)

say "apt-get remove $package"
apt_get remove "$package"
installed=0
for file in "${files[@]}"; do
	[ ! -e "$file" ] || die "$file is still there after apt-get remove"
done

if [ "$reinstall" = 1 ]; then
	say "installing the work tree into the system's tree again, as make test had"
	make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
	for file in "${files[@]}"; do
		[ -f "$file" ] || die "$file is missing after make install"
	done
fi
