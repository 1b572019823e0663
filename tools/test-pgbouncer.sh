#!/usr/bin/env bash
# Named locks and leases behind PgBouncer with pool_mode = transaction:
# starts Debian's pgbouncer in front of the running throwaway cluster
# (PGHOST/PGPORT), on a private Unix socket and a free port, and runs
# clients/pgbouncer/check.py and clients/pgbouncer/leases.py through it.
# leases.py needs the lease table: on PostgreSQL 15 and 16 a server with
# shared_preload_libraries = advlock_named (make test's preloaded pass).
# Exit 77: pgbouncer or python3-psycopg is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

PYTHON=/usr/bin/python3		# Debian's python3-* packages are for this one
export PYTHONPATH=$PWD/clients	# clients/checks.py
[ -x /usr/sbin/pgbouncer ] || { echo "skipped: needs pgbouncer (apt-get install pgbouncer)"; exit 77; }
"$PYTHON" -c 'import psycopg' 2>/dev/null ||
	{ echo "skipped: needs python3-psycopg (apt-get install python3-psycopg)"; exit 77; }

make_workdir
bouncer_pid=
stop_bouncer() {
	# pgbouncer runs under runuser, whose pid is $bouncer_pid: signal pgbouncer
	# itself, then reap runuser (which reaps pgbouncer)
	if [ -n "$bouncer_pid" ]; then
		kill "$(cat "$WORKDIR/pgbouncer.pid")" 2>/dev/null || true
		wait "$bouncer_pid" 2>/dev/null || true
	fi
	cleanup
}
trap stop_bouncer EXIT

db=client_pgbouncer
psql_q -c "CREATE DATABASE $db"
PGDATABASE=$db psql_q -c "CREATE EXTENSION advlock_named"

port=$(free_port)
socket="$WORKDIR/bouncer"
as_cluster_user mkdir "$socket"
# trust: PgBouncer still wants the user in its auth_file.
echo '"postgres" ""' >"$WORKDIR/userlist.txt"
cat >"$WORKDIR/pgbouncer.ini" <<INI
[databases]
pooled = host=$PGHOST port=$PGPORT dbname=$db pool_size=2
single = host=$PGHOST port=$PGPORT dbname=$db pool_size=1
leases = host=$PGHOST port=$PGPORT dbname=$db pool_size=3

[pgbouncer]
pool_mode = transaction
listen_addr =
listen_port = $port
unix_socket_dir = $socket
auth_type = trust
auth_file = $WORKDIR/userlist.txt
logfile = $WORKDIR/pgbouncer.log
pidfile = $WORKDIR/pgbouncer.pid
INI
as_cluster_user /usr/sbin/pgbouncer "$WORKDIR/pgbouncer.ini" >/dev/null 2>&1 &
bouncer_pid=$!
# wait until it answers, for 30 s at most
deadline=$((SECONDS + 30))
until PGHOST=$socket PGPORT=$port PGDATABASE=pooled psql_q -c 'SELECT 1' >/dev/null 2>&1; do
	kill -0 "$bouncer_pid" 2>/dev/null || { cat "$WORKDIR/pgbouncer.log"; die "pgbouncer exited"; }
	[ "$SECONDS" -lt "$deadline" ] || { cat "$WORKDIR/pgbouncer.log"; die "pgbouncer never answered"; }
	sleep 0.05
done
say "pgbouncer $(/usr/sbin/pgbouncer --version | head -n 1 | awk '{print $2}') on $socket, port $port"

# both, even when the first fails
status=0
for check in check.py leases.py; do
	say "clients/pgbouncer/$check"
	DIRECT_PGHOST=$PGHOST DIRECT_PGPORT=$PGPORT DIRECT_PGDATABASE=$db \
		PGHOST=$socket PGPORT=$port "$PYTHON" "clients/pgbouncer/$check" || status=1
done
exit $status
