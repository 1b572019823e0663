# Shared by run-tests.sh and demo.sh (sourced, not run): prerequisites,
# installation, and a throwaway PostgreSQL cluster on a private Unix socket.
#
# The server refuses to run as root, so as root the cluster (and anything
# that starts clusters of its own, such as the TAP tests) runs as the
# "postgres" OS user.

PG_CONFIG=${PG_CONFIG:-pg_config}
PG_MAJOR=${PG_MAJOR:-15}
CLUSTER_USER=postgres

say() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# psql for scripts: no psqlrc, bare values, stop at the first error.
psql_q() { psql -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

# Polls (for about 30 s at most) until a query prints the expected value.
wait_until() {	# query expected what
	local deadline=$((SECONDS + 30))
	until [ "$(psql_q -c "$1")" = "$2" ]; do
		[ "$SECONDS" -lt "$deadline" ] || die "$3 never happened"
		sleep 0.01
	done
}

# SQL that counts the requests for a named lock in one state.
lock_requests() {	# name granted(true|false)
	echo "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
		AND (classid::bigint << 32 | objid::bigint) = named_lock_key('$1') AND granted = $2"
}

# Runs a command as the user who owns the throwaway cluster.
as_cluster_user() {
	if is_root; then
		runuser -u "$CLUSTER_USER" -- "$@"
	else
		"$@"
	fi
}

missing_prerequisites() {
	local missing=()

	# Debian's postgresql-NN ships pgxs.mk without the server headers, so
	# look for both the headers and the server binary.
	if ! command -v "$PG_CONFIG" >/dev/null 2>&1; then
		missing+=("postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR")
	else
		[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] ||
			missing+=("postgresql-server-dev-$PG_MAJOR")
		[ -x "$("$PG_CONFIG" --bindir)/postgres" ] || missing+=("postgresql-$PG_MAJOR")
	fi
	command -v g++ >/dev/null 2>&1 || missing+=(g++)
	command -v make >/dev/null 2>&1 || missing+=(make)
	perl -MIPC::Run -e 1 >/dev/null 2>&1 || missing+=(libipc-run-perl)
	[ -f /usr/include/gtest/gtest.h ] || missing+=(libgtest-dev)
	command -v gdb >/dev/null 2>&1 || missing+=(gdb)	# t/004_grant_race.pl
	echo "${missing[@]}"
}

# Installs missing Debian packages as root; otherwise says what is missing.
ensure_prerequisites() {
	local missing
	missing=$(missing_prerequisites)
	[ -z "$missing" ] && return 0
	if ! is_root; then
		die "missing prerequisites: $missing (install them, or run as root to have them installed)"
	fi
	say "installing Debian packages: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	missing=$(missing_prerequisites)
	[ -z "$missing" ] || die "still missing after apt-get: $missing"
}

# The client recipes' drivers and the tools of the packaging tests: as root
# they are installed, otherwise only named, and the tests that need them are
# skipped.  (Debian's python3-* packages are for /usr/bin/python3.)
missing_client_prerequisites() {
	local missing=() module
	for module in psycopg psycopg2 django; do
		/usr/bin/python3 -c "import $module" >/dev/null 2>&1 || missing+=("python3-$module")
	done
	command -v node >/dev/null 2>&1 || missing+=(nodejs)
	command -v npm >/dev/null 2>&1 || missing+=(npm)
	[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
	command -v unzip >/dev/null 2>&1 || missing+=(unzip)
	echo "${missing[@]}"
}

ensure_client_prerequisites() {
	local missing
	missing=$(missing_client_prerequisites)
	[ -z "$missing" ] && return 0
	if ! is_root; then
		say "not installed, so the tests that need them are skipped: $missing"
		return 0
	fi
	say "installing Debian packages: $missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# Copies the source tree to a directory: in a git checkout the tracked files
# (and new ones not ignored) as they are in the work tree, elsewhere (an
# unpacked distribution) everything.
copy_tree() {	# destination
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -
	else
		tar -cf - .
	fi | tar -xf - -C "$1"
}

build_and_install() {
	local libdir
	say "building and installing advlock_named"
	make -s PG_CONFIG="$PG_CONFIG"
	libdir=$("$PG_CONFIG" --pkglibdir)
	if is_root || [ -w "$libdir" ]; then
		make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
	else
		sudo -n make -s PG_CONFIG="$PG_CONFIG" install >/dev/null ||
			die "cannot write to $libdir; run 'make install' with the rights to, then retry"
	fi
}

# A private scratch directory the cluster user can write to.
make_workdir() {
	WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/advlock_named.XXXXXX")
	OWN_WORKDIR=$WORKDIR
	chmod 755 "$WORKDIR"
	is_root && chown "$CLUSTER_USER" "$WORKDIR"
	return 0
}

free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 40000))
		if ! grep -qi ":$(printf '%04X' "$port") " /proc/net/tcp /proc/net/tcp6 2>/dev/null; then
			echo "$port"
			return
		fi
	done
}

# Starts a cluster under $WORKDIR and exports PGHOST/PGPORT/PGUSER for clients;
# CLUSTER_OPTIONS adds server settings ("-c name=value ...").
cluster_start() {
	local bindir
	bindir=$("$PG_CONFIG" --bindir)
	PGPORT=$(free_port)
	PGHOST="$WORKDIR/socket"
	as_cluster_user mkdir -p "$PGHOST"
	as_cluster_user "$bindir/initdb" -D "$WORKDIR/data" -U postgres --auth=trust \
		--no-sync -E UTF8 --locale=C >"$WORKDIR/initdb.log" 2>&1 ||
		{ cat "$WORKDIR/initdb.log"; die "initdb failed"; }
	as_cluster_user "$bindir/pg_ctl" -D "$WORKDIR/data" -l "$WORKDIR/server.log" -w \
		-o "-c listen_addresses='' -k $PGHOST -p $PGPORT -c fsync=off -c max_prepared_transactions=5 ${CLUSTER_OPTIONS:-}" \
		start >/dev/null ||
		{ cat "$WORKDIR/server.log"; die "the server did not start"; }
	export PGHOST PGPORT PGUSER=postgres PGDATABASE=postgres
	CLUSTER_RUNNING=1
}

# Restarts the cluster of cluster_start with more server settings
# ("-c name=value ..."), keeping its data; starts it if cluster_stop
# stopped it.
cluster_restart() {
	local bindir mode=restart
	bindir=$("$PG_CONFIG" --bindir)
	[ "${CLUSTER_RUNNING:-0}" = 1 ] || mode=start
	as_cluster_user "$bindir/pg_ctl" -D "$WORKDIR/data" -l "$WORKDIR/server.log" -w \
		-o "-c listen_addresses='' -k $PGHOST -p $PGPORT -c fsync=off -c max_prepared_transactions=5 ${CLUSTER_OPTIONS:-} $1" \
		"$mode" >/dev/null ||
		{ cat "$WORKDIR/server.log"; die "the server did not $mode"; }
	CLUSTER_RUNNING=1
}

# The major version of $PG_CONFIG's server, e.g. 15.
pg_major() {
	"$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/'
}

# The make argument that leaves out the specs needing the name directory
# where a server without the library preloaded has none (15); nothing on 17
# and later, which make the directory in a DSM segment.
isolation_without_preloading() {
	[ "$(pg_major)" -ge 17 ] || echo "ISOLATION=\$(ISOLATION_BASE)"
}

cluster_stop() {
	if [ "${CLUSTER_RUNNING:-0}" = 1 ]; then
		as_cluster_user "$("$PG_CONFIG" --bindir)/pg_ctl" -D "$WORKDIR/data" -m fast -w stop >/dev/null 2>&1 || true
		CLUSTER_RUNNING=0
	fi
}

cleanup() {
	cluster_stop
	# only what this process made, never an inherited WORKDIR
	[ -n "${OWN_WORKDIR:-}" ] && [ "${KEEP_WORKDIR:-0}" != 1 ] && rm -rf "$OWN_WORKDIR"
	return 0
}

# Prints "passed failed" for a pg_regress or pg_isolation_regress log, which
# says "test name ... ok" (15) or "ok N - name" (16+).  A log that shows no
# test at all counts as one failure.
count_pg_regress_results() {
	local log=$1 passed failed
	passed=$(grep -cE '^(ok [0-9]+ |(test| ) *[a-z0-9_]+ +\.\.\. ok)' "$log" || true)
	failed=$(grep -cE '^not ok [0-9]+ |\.\.\. FAILED' "$log" || true)
	grep -qE '\.\.\. |^(ok|not ok) ' "$log" || failed=$((failed + 1))
	echo "$passed $failed"
}

# Prints "passed failed" for a prove log; $2 is the run's status (ok or
# failed).  A failed run whose log names no test file counts as one failure.
count_tap_results() {	# log status: prints "passed failed skipped", one per file
	local log=$1 status=$2 passed failed skipped
	passed=$(grep -cE '^t/.*\.pl \.+ ok$' "$log" || true)
	skipped=$(grep -cE '^t/.*\.pl \.+ skipped: ' "$log" || true)
	failed=$(grep -E '^t/.*\.pl \.+ ' "$log" | grep -cvE '\.+ (ok$|skipped: )' || true)
	[ "$status" = ok ] || grep -qE '^t/.*\.pl \.+ ' "$log" || failed=$((failed + 1))
	echo "$passed $failed $skipped"
}
