#!/usr/bin/env bash
# make bench: measure named locks against the integer builtins, side by
# side in one run on a throwaway cluster, and print ratios.
#
#   bench/run.sh [--quick] [--markdown FILE] [--sections LIST]
#
# 1. in-server loop: lock+unlock pairs on 1,000 names, session and
#    transaction scope, shared and exclusive: (a) named_* functions, (b) the
#    builtins on precomputed keys, (c) the builtins fed by the plain-SQL
#    SHA-256 key, (d) the control: the builtins called through a C
#    function of another extension (bench/control), which pays what
#    PostgreSQL charges any extension and nothing else; and key derivation
#    alone for 8-, 32- and 200-byte names
# 2. pgbench, 1/8/32 clients, a shared xact lock on a hot name and an
#    exclusive one on a spread name per transaction, named vs builtins with
#    scripts of one shape, plus the name built in SQL and the control;
#    throughput and the server's CPU time per transaction
# 3. pgbench -C, a new connection per transaction, with the control
# 4. the first call in a new connection, as the server times it, with the
#    control's
# 5. wake-up latency: 16 shared holders release; how long until the
#    exclusive waiter runs, queued (named_lock_exclusive, and
#    pg_advisory_lock as the control) or polling (try + 10 ms sleep, what
#    many client libraries do), and how much of it is run-queue delay
# 6. scale: lock+unlock cost while the session holds 1k, 10k, 100k named
#    locks, and named_unlock_all() per lock
# 7. a PL/pgSQL loop of lock+unlock in exception blocks (a subtransaction
#    per iteration), 10k to 100k iterations, named vs builtins
# 8. the first call again with the library in shared_preload_libraries
# 9. the loop and pgbench at 32 clients again with the library preloaded,
#    so with the name directory and per-name statistics on, and side by
#    side with the named functions in sessions that do not track names
# 10. where a pgbench transaction's CPU goes: perf samples the whole
#    machine with call stacks, machine time per transaction under the lock
#    functions, the name directory's publishing, executor start-up and
#    commit, directory on and off (needs perf; skipped without it)
# 11. instructions per lock+unlock pair and per transaction, named vs
#    builtin, counted by callgrind in a single-user backend: figures that
#    host noise cannot move (needs valgrind; skipped without it); and
#    before/after: the same pairs and transaction with 1.3's library
#    (commit b6b083a, built from git into the scratch directory) and this
#    tree's, side by side in one database, not preloaded and preloaded, and
#    (this tree) preloaded with a live lease on a name the loop does not
#    lock and with a shared lease on every name it locks, each against the
#    same statements with the leases given back (skipped outside a git
#    checkout)
# 12. from a client (Python, psycopg 3, one autocommit connection over the
#    Unix socket), interleaved rounds of acquire+release pairs on four
#    names: a lease (named_lease_exclusive + named_lease_release), a named
#    session lock, the integer builtins, and Redis's single-instance lock
#    recipe (SET NX PX, released by a compare-and-delete Lua script) against
#    a redis-server the bench starts on a private Unix socket: µs per pair
#    and lease/Redis, builtin/Redis, lease/lock per round (needs
#    python3-psycopg; the Redis rows need redis-server and python3-redis);
#    then the same through psycopg2 (C), as Debian's psycopg 3 reaches
#    libpq through pure Python
# 13. expiry to grant: a lease of 50 ms that nobody renews, a waiter
#    already queued for its name (named_lease_exclusive with a wait, or
#    named_lock_exclusive with a timeout); the waiter's clock_timestamp()
#    once granted minus the expiry named_leases showed, p50/p90/max
# 14. semaphores: (a) from a client, acquire+release of one session permit
#    against a named session lock pair, interleaved rounds; (b) 100
#    requesters (threads, a connection each) on 4 permits, each holding a
#    permit 20 ms: named_semaphore_acquire with a wait against the
#    workaround of 4 integer keys tried in turn with pg_try_advisory_lock
#    and a 10 ms sleep between tries; longest and median wait, grants per
#    second, both in one run
#
# Sections 12-14 run on the cluster restarted with the library preloaded
# (leases need it on PostgreSQL 15 and 16) and max_connections=130.
#
# Timings vary with the machine; the ratios are what to compare.  Each
# figure is the median of several interleaved runs.  --quick runs fewer and
# smaller rounds.  --markdown FILE also writes the results as a table.
# --sections LIST runs only the sections listed, e.g. --sections 12,13,14
# or --sections 11 (the build, the cluster and its setup always happen; a
# figure that compares with a section not run is left out).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

quick=0
markdown=
sections=all
started=$(date -u '+%Y-%m-%d %H:%M UTC')
while [ $# -gt 0 ]; do
	case $1 in
		--quick) quick=1; shift ;;
		--markdown) markdown=$2; shift 2 ;;
		--sections) sections=$2; shift 2 ;;
		*) die "usage: $0 [--quick] [--markdown FILE] [--sections LIST]" ;;
	esac
done
if [ "$quick" = 1 ]; then
	repeats=1 loop_repeats=2 loop_rounds=200 pgbench_seconds=3 pgbench_pairs=1 connect_rounds=1
	first_call_rounds=10 latency_rounds=10 scale_sizes="1000 10000"
	client_rounds=3 client_pairs=300 expiry_rounds=10 crowd_rounds=1 crowd_each=1
else
	repeats=3 loop_repeats=9 loop_rounds=500 pgbench_seconds=3 pgbench_pairs=16 connect_rounds=8
	first_call_rounds=40 latency_rounds=40 scale_sizes="1000 10000 100000"
	client_rounds=15 client_pairs=2000 expiry_rounds=100 crowd_rounds=3 crowd_each=3
fi
# Whether --sections lists section $1 (all do by default).
section() { [ "$sections" = all ] || [[ ",$sections," == *",$1,"* ]]; }

# redis-server, once section 12 started it
redis_pid=
stop_redis() {
	[ -n "$redis_pid" ] || return 0
	kill "$redis_pid" 2>/dev/null || true
	wait "$redis_pid" 2>/dev/null || true
	redis_pid=
}
trap 'stop_redis; cleanup' EXIT
# Installs Debian packages when run as root (updating the package lists if
# the first try fails); otherwise does nothing, and the caller skips what
# needs them.
install_as_root() {	# package...
	is_root || return 0
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; } || true
}
ensure_prerequisites
build_and_install
make_workdir
# room for 100k locks held by one session
CLUSTER_OPTIONS="-c max_locks_per_transaction=2048 -c shared_buffers=256MB"
cluster_start
bindir=$("$PG_CONFIG" --bindir)
pgversion=$("$PG_CONFIG" --version)
say "$pgversion on $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"

results=()
record() { results+=("$1|$2|$3"); printf '%-58s %12s  %s\n' "$1" "$2" "$3"; }

# the loops' 1,000 names and their keys (section 11 makes them in a second database too)
names_table="CREATE TABLE names AS
	SELECT 'job-' || g AS name, named_lock_key('job-' || g) AS key FROM generate_series(1, 1000) g;"
psql_q >/dev/null <<SQL
CREATE EXTENSION advlock_named;
ALTER SYSTEM SET advlock_named.max_locks_per_session = 0;
SELECT pg_reload_conf();
$names_table
CREATE FUNCTION sql_key(name text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint;
SQL

# The control (bench/control): the builtins' work behind an extension's C
# functions, loaded by path from the scratch directory.
mkdir "$WORKDIR/control"
cp bench/control/bench_control.c bench/control/Makefile "$WORKDIR/control/"
make -s -C "$WORKDIR/control" PG_CONFIG="$PG_CONFIG" with_llvm=no >/dev/null
for builtin in pg_try_advisory_lock pg_try_advisory_lock_shared pg_advisory_unlock pg_advisory_unlock_shared \
	pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared pg_advisory_xact_lock pg_advisory_xact_lock_shared; do
	returns=boolean
	case $builtin in pg_advisory_xact_lock*) returns=void ;; esac
	echo "CREATE FUNCTION control_${builtin#pg_}(bigint) RETURNS $returns LANGUAGE c STRICT PARALLEL RESTRICTED
		AS '$WORKDIR/control/bench_control', 'control_${builtin}_int8';"
done | psql_q >/dev/null

# Runs labelled queries in one warm session; prints "label milliseconds" lines.
timed_queries() {
	{
		echo '\timing on'
		cat
	} | psql -X -q -v ON_ERROR_STOP=1 2>&1 | awk '
		/^@/ { label = substr($1, 2) }
		/^Time: / { if (label != "") { print label, $2; label = "" } }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# "p50 p90 max" of numbers, one a line (nearest rank)
percentiles() {
	sort -n | awk '{ v[NR] = $1 }
		function at(q,  i) { i = int(q * NR); if (i < q * NR) i++; return v[i < 1 ? 1 : i] }
		END { if (NR) printf "%.2f %.2f %.2f\n", at(0.5), at(0.9), v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" -v digits="${3:-2}" 'BEGIN { printf "%." digits "f", a / b }'; }	# a b [digits]

#
# 1. In-server loop
#
session_pair() {	# lock function, unlock function, argument
	echo "SELECT count(CASE WHEN $1($3) THEN $2($3) END) FROM names, generate_series(1, $loop_rounds);"
}
xact_proc() {	# procedure name, lock function, argument
	cat <<SQL
CREATE PROCEDURE $1() LANGUAGE plpgsql AS \$\$
BEGIN
	FOR i IN 1..$loop_rounds LOOP
		PERFORM count($2($3)) FROM names;
		COMMIT;
	END LOOP;
END \$\$;
SQL
}
{
	xact_proc named_xact_x named_try_xact_lock_exclusive name
	xact_proc builtin_xact_x pg_try_advisory_xact_lock key
	xact_proc sql_xact_x pg_try_advisory_xact_lock 'sql_key(name)'
	xact_proc named_xact_s named_try_xact_lock_shared name
	xact_proc builtin_xact_s pg_try_advisory_xact_lock_shared key
	xact_proc sql_xact_s pg_try_advisory_xact_lock_shared 'sql_key(name)'
	xact_proc control_xact_x control_try_advisory_xact_lock key
	xact_proc control_xact_s control_try_advisory_xact_lock_shared key
} | psql_q >/dev/null

# Host noise only ever adds time, and it comes in bursts: named and builtin
# alternate in every round (named first in odd rounds, builtin first in
# even ones) and a ratio is the median of the rounds' ratios, with their
# range.  The four variants also take turns at coming first in a round,
# since the first one runs right after the last one's transactions (one
# full run measured whichever came first 0.1 above the others, while
# callgrind counts the same instructions for all four).  More kinds run in
# the rounds too: the control (d), the builtins through an extension's C
# functions, and the plain-SQL key (c), which is slow and needs no
# precision, in fewer rounds; or, with the directory on (section 9), the
# named functions with advlock_named.track_names off, in every round, so
# that "on" and "off" are measured side by side in one session.
loop_sql() {	# more kinds: any of sql, control, untracked
	local r v scope mode suffix x kind order
	local variants=("session exclusive" "session shared" "xact exclusive" "xact shared")
	# warm up every function once
	session_pair named_try_lock_exclusive named_unlock_exclusive name | sed 's/generate_series(1, [0-9]*)/generate_series(1, 1)/'
	for r in $(seq 1 "$loop_repeats"); do
		order="named builtin"
		for kind in $1; do
			[ "$kind" = sql ] && [ "$r" -gt "$repeats" ] && continue
			order="$order $kind"
		done
		[ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<<"$order" | tac | xargs)
		for v in 0 1 2 3; do
			read -r scope mode <<<"${variants[$(((r + v) % 4))]}"
			suffix=$([ "$mode" = shared ] && echo _shared || true)
			x=$([ "$mode" = shared ] && echo s || echo x)
			for kind in $order; do
				if [ "$kind" = untracked ]; then echo "SET advlock_named.track_names = off;"; fi
				echo "\\echo @${scope}_${mode}_$kind"
				case $scope/$kind in
					session/named | session/untracked) session_pair "named_try_lock_$mode" "named_unlock_$mode" name ;;
					session/builtin) session_pair "pg_try_advisory_lock$suffix" "pg_advisory_unlock$suffix" key ;;
					session/sql) session_pair "pg_try_advisory_lock$suffix" "pg_advisory_unlock$suffix" 'sql_key(name)' ;;
					session/control) session_pair "control_try_advisory_lock$suffix" "control_advisory_unlock$suffix" key ;;
					xact/untracked) echo "CALL named_xact_$x();" ;;
					xact/*) echo "CALL ${kind}_xact_$x();" ;;
				esac
				if [ "$kind" = untracked ]; then echo "RESET advlock_named.track_names;"; fi
			done
		done
	done
}
loop_column() {	# times label: the label's times, one per round, in order
	awk -v l="$2" '$1 == l { print $2 }' <<<"$1"
}
loop_ratios() {	# times scope_mode [kind kind]: "median min max" of the rounds' ratios, named/builtin by default
	paste <(loop_column "$1" "${2}_${3:-named}") <(loop_column "$1" "${2}_${4:-builtin}") |
		awk '{ print $1 / $2 }' | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.4f %.2f %.2f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }'
}
# Records the median of the rounds' ratios of one kind's times to
# another's (lines "prefix_kind value", a round's in turn) with their
# range, and leaves it in $loop_ratio.
record_rounds_ratio() {	# label times rounds prefix kind kind
	local low high
	read -r loop_ratio low high <<<"$(loop_ratios "$2" "$4" "$5" "$6")"
	record "$1" "$(printf '%.2f' "$loop_ratio")" "median of $3 rounds; range $low-$high"
}
# The same for $loop_times, named/builtin unless two kinds are given.
record_loop_ratio() {	# label scope_mode [kind kind]
	record_rounds_ratio "$1" "$loop_times" "$loop_repeats" "$2" "${3:-named}" "${4:-builtin}"
}
declare -A off_ratio=()	# section 1's named/builtin ratios, for section 9
pairs=$((loop_rounds * 1000))
if section 1; then
say "1. in-server loop: $((loop_rounds * 1000)) lock+unlock pairs per variant"
loop_times=$(loop_sql "sql control" | timed_queries)
for scope in session xact; do
	for mode in exclusive shared; do
		named=$(loop_column "$loop_times" "${scope}_${mode}_named" | median)
		builtin=$(loop_column "$loop_times" "${scope}_${mode}_builtin" | median)
		sql=$(loop_column "$loop_times" "${scope}_${mode}_sql" | median)
		ns() { awk -v t="$1" -v n="$pairs" 'BEGIN { printf "%.0f ns", t * 1e6 / n }'; }
		record "loop $scope $mode: named (a)" "$(ns "$named")" "per pair"
		record "loop $scope $mode: builtin on keys (b)" "$(ns "$builtin")" "per pair"
		record "loop $scope $mode: builtin on SQL sha256 key (c)" "$(ns "$sql")" "per pair"
		record_loop_ratio "loop $scope $mode: a/b (target <= 1.25)" "${scope}_$mode"
		off_ratio[${scope}_$mode]=$loop_ratio
		record "loop $scope $mode: c/a (target >= 3)" "$(ratio "$sql" "$named")" ""
		record_loop_ratio "loop $scope $mode: d/b, the control: any extension's C function" "${scope}_$mode" control builtin
		record_loop_ratio "loop $scope $mode: a/d, what advlock_named adds" "${scope}_$mode" named control
	done
done

# Key derivation alone: 100,000 distinct names in a row, far more than the
# key cache holds, so each one costs a SHA-256; then 1,000 short names in
# rotation, which the cache serves.
key_rounds=$(((loop_rounds + 99) / 100))
key_sql() {
	for bytes in 8 32 200; do
		echo "CREATE TEMP TABLE names_$bytes AS SELECT lpad(g::text, $bytes, 'k') AS name FROM generate_series(1, 100000) g;"
	done
	echo "CREATE TEMP TABLE names_cached AS SELECT lpad(g::text, 8, 'k') AS name FROM generate_series(1, 1000) g;"
	for r in $(seq 1 "$repeats"); do
		for set in 8 32 200 cached; do
			series=$([ "$set" = cached ] && echo "$loop_rounds" || echo "$key_rounds")
			echo "\\echo @key_$set"
			echo "SELECT count(named_lock_key(name)) FROM names_$set, generate_series(1, $series);"
			[ "$set" = cached ] || {
				echo "\\echo @sqlkey_$set"
				echo "SELECT count(sql_key(name)) FROM names_$set, generate_series(1, $series);"
			}
			echo "\\echo @base_$set"
			echo "SELECT count(octet_length(name)) FROM names_$set, generate_series(1, $series);"
		done
	done
}
key_times=$(key_sql | timed_queries)
per_name() {	# label of the timed query; prints ns per name over the baseline
	local t b
	t=$(awk -v l="$1" '$1 == l { print $2 }' <<<"$key_times" | median)
	b=$(awk -v l="base_$2" '$1 == l { print $2 }' <<<"$key_times" | median)
	awk -v t="$t" -v b="$b" -v n="$3" 'BEGIN { printf "%.0f ns", (t - b) * 1e6 / n }'
}
for bytes in 8 32 200; do
	record "key derivation, $bytes-byte names: named_lock_key" \
		"$(per_name "key_$bytes" "$bytes" "$((key_rounds * 100000))")" "per name, call overhead excluded"
	record "key derivation, $bytes-byte names: SQL sha256 recipe" \
		"$(per_name "sqlkey_$bytes" "$bytes" "$((key_rounds * 100000))")" "per name"
done
record "key lookup, 1,000 recurring 8-byte names: named_lock_key" \
	"$(per_name key_cached cached "$pairs")" "per name, from the key cache"
fi

#
# 2. pgbench
#
# Both scripts have one shape: a shared lock on a constant (the hot name,
# or its key) and an exclusive lock on a parameter, the same :id sent as
# text to the named function and as an integer to the builtin.  The third
# script builds the name in SQL ('item-' || :id), as an application might;
# it is reported apart, since the concatenation is not the lock's cost.
#
cat >"$WORKDIR/named.pgbench" <<'SCRIPT'
\set id random(1, 100000)
BEGIN;
SELECT named_xact_lock_shared('hot');
SELECT named_xact_lock_exclusive(:id::text);
END;
SCRIPT
cat >"$WORKDIR/concat.pgbench" <<'SCRIPT'
\set id random(1, 100000)
BEGIN;
SELECT named_xact_lock_shared('hot');
SELECT named_xact_lock_exclusive('item-' || :id);
END;
SCRIPT
hot_key=$(psql_q -c "SELECT named_lock_key('hot')")
cat >"$WORKDIR/builtin.pgbench" <<SCRIPT
\\set id random(1, 100000)
BEGIN;
SELECT pg_advisory_xact_lock_shared($hot_key);
SELECT pg_advisory_xact_lock(:id);
END;
SCRIPT
cat >"$WORKDIR/control.pgbench" <<SCRIPT
\\set id random(1, 100000)
BEGIN;
SELECT control_advisory_xact_lock_shared($hot_key);
SELECT control_advisory_xact_lock(:id);
END;
SCRIPT

# Server CPU per transaction: the CPU time of the backends, which the
# postmaster collects as its children's time when it reaps them (so it
# includes starting and ending each connection), over the transactions
# pgbench counted.  It moves less with host noise than throughput does.
pm=$(head -1 "$WORKDIR/data/postmaster.pid")
clk_tck=$(getconf CLK_TCK)
children_ticks() { awk '{ print $16 + $17 }' "/proc/$pm/stat"; }
# Returns once the postmaster has reaped every client backend.
wait_backends_gone() {
	local deadline=$((SECONDS + 10)) child busy
	while [ "$SECONDS" -lt "$deadline" ]; do
		busy=0
		for child in $(cat "/proc/$pm/task/$pm/children" 2>/dev/null || true); do
			grep -q '\[local\]' "/proc/$child/cmdline" 2>/dev/null && busy=1 && break
		done
		[ "$busy" = 0 ] && return 0
		sleep 0.02
	done
}
pgbench_run() {	# script clients [pgbench option]...; prints "tps transactions server-µs-per-transaction"
	local script=$1 clients=$2 out t0 t1 options=
	shift 2
	# untracked.pgbench is the named script in sessions that do not track names
	[ "$(basename "$script")" = untracked.pgbench ] && options="-c advlock_named.track_names=off"
	wait_backends_gone
	t0=$(children_ticks)
	out=$(PGOPTIONS="${PGOPTIONS:-} $options" "$bindir/pgbench" -n -M prepared -T "$pgbench_seconds" -c "$clients" \
		-j "$((clients < $(nproc) ? clients : $(nproc)))" "$@" -f "$script" 2>/dev/null)
	wait_backends_gone
	t1=$(children_ticks)
	awk -v t0="$t0" -v t1="$t1" -v hz="$clk_tck" '
		/^number of transactions actually processed/ { split($NF, a, "/"); n = a[1] }
		/^tps/ { tps = $3 }
		END { printf "%s %d %.1f\n", tps, n, (t1 - t0) / hz * 1e6 / n }' <<<"$out"
}
field() { awk -v f="$1" '{ print $f }'; }
# Throughput on a shared host drifts by several per cent between runs, so
# the scripts run in rounds, back to back, the order reversed in every
# other round (drift favours none), and a ratio is the median of the
# rounds' ratios.
values() { tr ' ' '\n' <<<"$1" | grep .; }	# a space-separated list, a value a line
pgbench_compare() {	# label clients rounds script... (the first is the reference); records rows
	local label=$1 clients=$2 rounds=$3 r s run ref
	shift 3
	local scripts=("$@") order
	declare -A runs=() ratios=() cpu=()
	for r in $(seq 1 "$rounds"); do
		if [ $((r % 2)) = 1 ]; then order=("${scripts[@]}"); else order=($(printf '%s\n' "${scripts[@]}" | tac)); fi
		declare -A this=()
		for s in "${order[@]}"; do
			run=$(pgbench_run "$WORKDIR/$s.pgbench" "$clients" "${pgbench_options[@]}")
			this[$s]=$run
			runs[$s]+="$(field 1 <<<"$run") "
			cpu[$s]+="$(field 3 <<<"$run") "
		done
		ref=$(field 1 <<<"${this[${scripts[0]}]}")
		for s in "${scripts[@]:1}"; do
			ratios[$s]+="$(ratio "$(field 1 <<<"${this[$s]}")" "$ref" 4) "
		done
		# the named script against the others it is compared with in the same round
		for s in untracked control; do
			if [ -n "${this[$s]:-}" ]; then
				ratios[named_$s]+="$(ratio "$(field 1 <<<"${this[named]}")" "$(field 1 <<<"${this[$s]}")" 4) "
			fi
		done
		unset this
	done
	for s in "${scripts[@]}"; do
		record "$label, $s" "$(printf '%.0f tps' "$(values "${runs[$s]}" | median)")" \
			"server CPU $(values "${cpu[$s]}" | median | xargs printf '%.1f') µs per transaction"
	done
	for s in "${scripts[@]:1}"; do
		local target=$pgbench_target
		[ "$s" = concat ] && target="name built in SQL, no target"
		[ "$s" = control ] && target="the control: any extension's C function"
		record_ratios "$label, $s/${scripts[0]}" "$target" "${ratios[$s]}" "${cpu[$s]}" "${cpu[${scripts[0]}]}"
	done
	for s in untracked control; do
		[ -n "${ratios[named_$s]:-}" ] || continue
		local what="what advlock_named adds"
		[ "$s" = untracked ] && what="track_names on / off"
		record_ratios "$label, named/$s" "$what" "${ratios[named_$s]}" "${cpu[named]}" "${cpu[$s]}"
	done
}
# label target ratios cpu cpu_ref: the median of the rounds' tps ratios with
# their range, and the ratio of the two scripts' median CPU per transaction
record_ratios() {
	record "$1 tps ($2)" "$(values "$3" | median | xargs printf '%.2f')" \
		"median of $(values "$3" | wc -l) rounds; range $(values "$3" | sort -n | sed -n '1p;$p' | xargs printf '%.2f-%.2f')"
	record "$1 server CPU per transaction" "$(ratio "$(values "$4" | median)" "$(values "$5" | median)")" \
		"ratio of the medians"
}
pgbench_options=()
pgbench_target="target >= 0.98"
if section 2; then
say "2. pgbench, ${pgbench_seconds}s per run"
for clients in 1 8 32; do
	pgbench_compare "pgbench $clients clients" "$clients" "$pgbench_pairs" builtin named concat control
done
fi

#
# 3. pgbench -C: a new connection for every transaction, so each one pays
#    the backend's start and, for the named script, loading the module
#
if section 3; then
say "3. pgbench -C (a connection per transaction), 8 clients"
pgbench_options=(-C)
pgbench_target="target >= 0.95"
pgbench_compare "pgbench -C 8 clients" 8 "$connect_rounds" builtin named control
pgbench_options=()
fi

#
# 4. First call in a new connection: the server's own account
#    (log_statement_stats) of the first statement of fresh connections,
#    so client start-up and scheduling of psql do not count
#
first_call_sql=("SELECT 1" "SELECT pg_try_advisory_lock(1)" "SELECT named_try_lock_exclusive('x')" "LOAD 'advlock_named'"
	"SELECT control_try_advisory_lock(1)")
first_call() {	# tag; records rows
	local tag=$1 start r q
	start=$(wc -l <"$WORKDIR/server.log")
	for r in $(seq 1 "$first_call_rounds"); do
		for q in "${first_call_sql[@]}"; do
			PGOPTIONS="-c log_statement_stats=on" psql -X -q -c "$q; -- $tag" >/dev/null
		done
	done
	sleep 0.2
	# "elapsed cpu faults|statement" per logged statement
	tail -n +"$((start + 1))" "$WORKDIR/server.log" | awk '
		/ s user, .* s elapsed/ && !/total/ { gsub(/!/, ""); cpu = ($1 + $4) * 1000; elapsed = $7 * 1000 }
		/page faults\/reclaims/ { split($2, f, "/"); faults = f[2] }
		/STATEMENT:/ { sub(/.*STATEMENT:  /, ""); sub(/; -- .*/, ""); print elapsed, cpu, faults "|" $0 }' \
		>"$WORKDIR/first_call.$tag"
}
first_call_median() {	# tag statement column(1 elapsed, 2 cpu, 3 faults)
	awk -F'|' -v q="$2" '$2 == q { print $1 }' "$WORKDIR/first_call.$1" | field "$3" | median
}
ms_minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f ms", a - b }'; }	# a b
first_call_rows() {	# tag label
	local b n l s
	b=$(first_call_median "$1" "${first_call_sql[1]}" 1)
	n=$(first_call_median "$1" "${first_call_sql[2]}" 1)
	l=$(first_call_median "$1" "${first_call_sql[3]}" 1)
	s=$(first_call_median "$1" "${first_call_sql[0]}" 1)
	record "first call$2: pg_try_advisory_lock(1)" "$(printf '%.2f ms' "$b")" \
		"server CPU $(first_call_median "$1" "${first_call_sql[1]}" 2 | xargs printf '%.2f') ms, $(first_call_median "$1" "${first_call_sql[1]}" 3) page faults"
	record "first call$2: named_try_lock_exclusive('x')" "$(printf '%.2f ms' "$n")" \
		"server CPU $(first_call_median "$1" "${first_call_sql[2]}" 2 | xargs printf '%.2f') ms, $(first_call_median "$1" "${first_call_sql[2]}" 3) page faults"
	record "first call$2: named - builtin (target <= 0.5 ms)" "$(ms_minus "$n" "$b")" \
		"medians of $first_call_rounds fresh connections each"
	[ "$1" = preloaded ] && return 0
	record "first call$2: LOAD 'advlock_named' - SELECT 1" "$(ms_minus "$l" "$s")" "loading the module"
	record "first call$2: control - builtin, any extension's C function" \
		"$(ms_minus "$(first_call_median "$1" "${first_call_sql[4]}" 1)" "$b")" "its module loaded by path, not preloaded"
}
if section 4; then
say "4. first call in a new connection, $first_call_rounds connections per statement"
first_call plain
first_call_rows plain ""
fi

#
# 5. Wake-up latency
#
if section 5; then
say "5. wake-up latency, $latency_rounds rounds per waiter"
psql_q >/dev/null <<'SQL'
CREATE TABLE releases (round int, at timestamptz);
CREATE TABLE wakeups (round int, kind text, at timestamptz, sched_before text, sched_after text);
SQL
# The holders release only when the driver opens a gate (an integer lock it
# holds in a session of its own), so all sixteen hold the lock and the
# waiter is in place however long their connections take to start; they
# then wait at a second gate, so no connection ends while the waiter wakes.
# The waiter reads its run-queue delay (/proc/self/schedstat: time spent
# runnable but not running) around the wait; what is left of the latency
# once that is taken off is the lock manager's and the latch's own part.
# (Until 2026-11-29 each holder's connection ended right after its
# release: sixteen backends exiting, a few ms of CPU each, competed with
# the waiter for two cores, which is most of the 3.9 ms once measured.)
# The builtin waiter (pg_advisory_lock on an integer key) is the control.
gate_key=20261127
release_key=20261128
builtin_key=20261129
coproc GATE { psql -X -q -t -A -v ON_ERROR_STOP=1 2>&1; }
gate_pid=$GATE_PID gate_in=${GATE[1]} gate_out=${GATE[0]}
gate() {	# SQL for the gate session; returns once it has run
	local reply
	printf '\\o /dev/null\n%s;\n\\echo done\n' "$1" >&"$gate_in"
	read -r reply <&"$gate_out"
	[ "$reply" = done ] || die "gate session: $reply"
}
requests_for_key() {	# key granted
	echo "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
		AND (classid::bigint << 32 | objid::bigint) = $1 AND granted = $2"
}
import_key=$(psql_q -c "SELECT named_lock_key('import')")
# (without schedstats in the kernel there is no run-queue figure)
if [ -r /proc/self/schedstat ]; then schedstat="pg_read_file('/proc/self/schedstat')"; else schedstat="NULL::text"; fi
for kind in queue builtin poll; do
	if [ "$kind" = builtin ]; then
		lock_shared="pg_advisory_lock_shared($builtin_key)" unlock_shared="pg_advisory_unlock_shared($builtin_key)"
		lock_x="pg_advisory_lock($builtin_key)" unlock_x="pg_advisory_unlock($builtin_key)" key=$builtin_key
	else
		lock_shared="named_lock_shared('import')" unlock_shared="named_unlock_shared('import')"
		lock_x="named_lock_exclusive('import')" unlock_x="named_unlock_exclusive('import')" key=$import_key
	fi
	for round in $(seq 1 "$latency_rounds"); do
		gate "SELECT pg_advisory_lock($gate_key), pg_advisory_lock($release_key)"
		holders=()
		for h in $(seq 1 16); do
			psql_q >/dev/null -c "SELECT $lock_shared" \
				-c "SELECT pg_advisory_lock_shared($gate_key)" \
				-c "SELECT pg_sleep($h * 0.002)" \
				-c "INSERT INTO releases SELECT $round, clock_timestamp() FROM (SELECT $unlock_shared) s" \
				-c "SELECT pg_advisory_lock_shared($release_key)" &
			holders+=($!)
		done
		wait_until "$(requests_for_key "$key" true)" 16 "sixteen shared holders"
		if [ "$kind" = poll ]; then
			psql_q >/dev/null -c "DO \$\$ BEGIN
				LOOP EXIT WHEN named_try_lock_exclusive('import'); PERFORM pg_sleep(0.01); END LOOP;
				INSERT INTO wakeups VALUES ($round, 'poll', clock_timestamp());
				PERFORM named_unlock_exclusive('import'); END \$\$" &
			waiter=$!
			wait_until "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO%' AND wait_event = 'PgSleep'" \
				1 "a polling waiter"
		else
			# planned before it runs: the clock is read as soon as the lock
			# is granted (the subquery's columns are computed in order)
			psql_q >/dev/null \
				-c "INSERT INTO wakeups SELECT $round, '$kind', clock_timestamp(), before, $schedstat
					FROM (SELECT $schedstat AS before, $lock_x AS granted OFFSET 0) s" \
				-c "SELECT $unlock_x" &
			waiter=$!
			wait_until "$(requests_for_key "$key" false)" 1 "a queued exclusive request"
		fi
		gate "SELECT pg_advisory_unlock($gate_key)"
		wait "$waiter"
		gate "SELECT pg_advisory_unlock($release_key)"
		wait "${holders[@]}"
	done
	read -r p50 p99 run_delay own samples <<<"$(psql_q -F ' ' -c "
		WITH w AS (
			SELECT extract(epoch FROM w.at - max(r.at)) * 1000 AS ms,
				   (split_part(max(w.sched_after), ' ', 2)::numeric
					- split_part(max(w.sched_before), ' ', 2)::numeric) / 1e6 AS run_delay_ms
			FROM wakeups w JOIN releases r USING (round)
			WHERE w.kind = '$kind' GROUP BY w.round, w.at)
		SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
			   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
			   coalesce(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY run_delay_ms)::numeric, 2), -1),
			   coalesce(round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms - run_delay_ms)::numeric, 2), -1),
			   count(*)
		FROM w")"
	psql_q -c "TRUNCATE releases, wakeups" >/dev/null
	record "wake-up latency, $kind waiter: p50" "$p50 ms" "$samples rounds"
	record "wake-up latency, $kind waiter: p99" "$p99 ms" ""
	if [ "$kind" != poll ]; then
		record "wake-up latency, $kind waiter: p50 run-queue delay" "$run_delay ms" "waiting for a CPU once woken"
		record "wake-up latency, $kind waiter: p50 without it" "$own ms" "lock manager and latch"
	fi
done
printf '\\q\n' >&"$gate_in"
wait "$gate_pid" 2>/dev/null || true
fi

#
# 6. Scale
#
if section 6; then
say "6. scale"
scale_sql() {
	local prefix=$1 lock=$2 pair=$3 unlock_all=$4 held=0
	echo "$pair;"
	for size in $scale_sizes; do
		echo "SELECT count($lock) FROM generate_series($((held + 1)), $size) g;"
		held=$size
		for r in $(seq 1 "$repeats"); do
			echo "\\echo @${prefix}_pairs_$size"
			echo "$pair;"
		done
	done
	echo "SELECT $unlock_all;"
	# releasing everything, at each size, from a fresh fill
	for size in $scale_sizes; do
		echo "SELECT count($lock) FROM generate_series(1, $size) g;"
		echo "\\echo @${prefix}_unlock_all_$size"
		echo "SELECT $unlock_all;"
	done
}
scale_times=$({
	scale_sql named "named_try_lock_shared('held-' || g)" \
		"SELECT count(CASE WHEN named_try_lock_exclusive(name) THEN named_unlock_exclusive(name) END) FROM names, generate_series(1, 1000)" \
		"named_unlock_all()"
	scale_sql builtin "pg_try_advisory_lock_shared(g)" \
		"SELECT count(CASE WHEN pg_try_advisory_lock(key) THEN pg_advisory_unlock(key) END) FROM names, generate_series(1, 1000)" \
		"pg_advisory_unlock_all()"
} | timed_queries)
for size in $scale_sizes; do
	for prefix in named builtin; do
		pairs_ms=$(awk -v l="${prefix}_pairs_$size" '$1 == l { print $2 }' <<<"$scale_times" | median)
		unlock_ms=$(awk -v l="${prefix}_unlock_all_$size" '$1 == l { print $2 }' <<<"$scale_times")
		all=$([ "$prefix" = named ] && echo "named_unlock_all()" || echo "pg_advisory_unlock_all()")
		record "scale, $size locks held, $prefix: lock+unlock pair" \
			"$(awk -v t="$pairs_ms" 'BEGIN { printf "%.0f ns", t * 1e6 / 1000000 }')" "per pair"
		record "scale, $size locks held, $prefix: $all" \
			"$(awk -v t="$unlock_ms" -v n="$size" 'BEGIN { printf "%.0f ns", t * 1e6 / n }')" "per lock released"
	done
done
fi

#
# 7. Exception blocks: a PL/pgSQL loop whose every iteration takes and
#    releases a lock in a block with an exception handler, so every
#    iteration is a subtransaction; the cost must stay linear
#
if section 7; then
say "7. exception-block loop"
psql_q >/dev/null <<'SQL'
CREATE FUNCTION exception_loop(n integer, named boolean) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..n LOOP
		BEGIN
			IF named THEN
				PERFORM named_try_lock_exclusive('item:' || i);
				PERFORM named_unlock_exclusive('item:' || i);
			ELSE
				PERFORM pg_try_advisory_lock(hashtextextended('item:' || i, 0));
				PERFORM pg_advisory_unlock(hashtextextended('item:' || i, 0));
			END IF;
		EXCEPTION WHEN others THEN NULL;
		END;
	END LOOP;
END $$;
SQL
exception_sizes=$([ "$quick" = 1 ] && echo "10000 40000" || echo "10000 40000 100000")
exception_times=$(for r in $(seq 1 "$repeats"); do
	for n in $exception_sizes; do
		echo "\\echo @named_$n"
		echo "SELECT exception_loop($n, true);"
		echo "\\echo @builtin_$n"
		echo "SELECT exception_loop($n, false);"
	done
done | timed_queries)
for n in $exception_sizes; do
	named=$(awk -v l="named_$n" '$1 == l { print $2 }' <<<"$exception_times" | median)
	builtin=$(awk -v l="builtin_$n" '$1 == l { print $2 }' <<<"$exception_times" | median)
	record "exception-block loop, $n iterations: named" "$(printf '%.0f ms' "$named")" \
		"$(awk -v t="$named" -v n="$n" 'BEGIN { printf "%.2f µs per iteration", t * 1000 / n }')"
	record "exception-block loop, $n iterations: builtin" "$(printf '%.0f ms' "$builtin")" \
		"$(awk -v t="$builtin" -v n="$n" 'BEGIN { printf "%.2f µs per iteration", t * 1000 / n }')"
	record "exception-block loop, $n iterations: named/builtin (target <= 1.5)" "$(ratio "$named" "$builtin")" ""
done
fi

#
# 8. First call with the library preloaded: the backends inherit it from
#    the postmaster, so what is left is the catalog lookups and first use
#
if section 8 || section 9 || section 10; then
psql_q -c "ALTER SYSTEM SET shared_preload_libraries = 'advlock_named'" >/dev/null
# restart keeps the command line; the new postmaster logs where this shell points it
as_cluster_user "$bindir/pg_ctl" -D "$WORKDIR/data" -m fast -w restart >>"$WORKDIR/server.log" 2>&1 ||
	{ cat "$WORKDIR/server.log"; die "the server did not restart"; }
pm=$(head -1 "$WORKDIR/data/postmaster.pid")	# a new postmaster, for pgbench_run's CPU figure
fi
if section 8; then
say "8. first call with advlock_named in shared_preload_libraries"
first_call preloaded
first_call_rows preloaded ", preloaded"
fi

#
# 9. With the name directory and statistics on: preloading gives every
#    version the directory, so the lock path now publishes names and
#    counts acquisitions; the same loop and pgbench against section 1 and 2,
#    and, in the same rounds, against advlock_named.track_names = off: the
#    directory's cost without the drift of minutes between sections
#
if section 9; then
say "9. with the name directory and statistics on (preloaded)"
loop_times=$(loop_sql untracked | timed_queries)
for scope in session xact; do
	for mode in exclusive shared; do
		record_loop_ratio "directory on, loop $scope $mode: a/b (target <= 1.5)" "${scope}_$mode"
		on=$loop_ratio
		record_loop_ratio "directory on, loop $scope $mode: a on / a with track_names off (target <= 1.10)" \
			"${scope}_$mode" named untracked
		if [ -n "${off_ratio[${scope}_$mode]:-}" ]; then
			record "directory on, loop $scope $mode: a/b on / a/b off" \
				"$(ratio "$on" "${off_ratio[${scope}_$mode]}")" "section 1 is off, minutes earlier"
		fi
	done
done
pgbench_target="stays where section 2 has it"
cp "$WORKDIR/named.pgbench" "$WORKDIR/untracked.pgbench"
pgbench_compare "directory on, pgbench 32 clients" 32 "$pgbench_pairs" builtin named untracked
fi

#
# 10. Where a transaction's CPU goes: perf samples the whole machine (the
#     backends, pgbench, idle) with call stacks while pgbench runs the
#     scripts of section 2 at 32 clients, and bench/cpu_breakdown.py turns
#     the samples under each function into machine time per transaction.
#     With the directory on (preloaded, as section 9 left the server) and
#     off.  Needs perf (skipped without it).
#
if section 10; then
command -v perf >/dev/null 2>&1 || install_as_root linux-perf
perf_functions=(named_xact_lock_shared named_xact_lock_exclusive pg_advisory_xact_lock_shared_int8
	pg_advisory_xact_lock_int8 NoteNameUsed ExecInitNode CommitTransactionCommand)
perf_breakdown() {	# label script: records the time under each of perf_functions
	local data="$WORKDIR/perf.data" tps
	"$bindir/pgbench" -n -M prepared -T "$((pgbench_seconds + 2))" -c 32 -j 2 \
		-f "$WORKDIR/$2.pgbench" >"$WORKDIR/perf.pgbench" 2>/dev/null &
	sleep 1
	perf record -a -F 999 --call-graph dwarf,16384 -o "$data" -- sleep "$pgbench_seconds" >/dev/null 2>&1 ||
		{ wait; return 1; }
	wait
	tps=$(awk '/^tps/ { print $3 }' "$WORKDIR/perf.pgbench")
	perf script -i "$data" -F comm,ip,sym 2>/dev/null |
		bench/cpu_breakdown.py --transactions "$(awk -v t="$tps" -v s="$pgbench_seconds" 'BEGIN { print t * s }')" \
			--seconds "$pgbench_seconds" --cpus "$(nproc)" "${perf_functions[@]}" >"$WORKDIR/breakdown" || return 1
	rm -f "$data"
	while read -r function us; do
		[ "$us" = 0.00 ] && continue
		record "CPU per transaction, $1: $([ "$function" = all ] && echo "the whole machine" || echo "under $function")" \
			"$us µs" "perf, pgbench 32 clients"
	done <"$WORKDIR/breakdown"
}
if command -v perf >/dev/null 2>&1 && perf record -a -o "$WORKDIR/perf.probe" -- true >/dev/null 2>&1; then
	say "10. where a transaction's CPU goes (perf, 32 clients)"
	perf_breakdown "builtin, directory on" builtin
	perf_breakdown "named, directory on" named
	psql_q -c "ALTER SYSTEM RESET shared_preload_libraries" >/dev/null
	as_cluster_user "$bindir/pg_ctl" -D "$WORKDIR/data" -m fast -w restart >>"$WORKDIR/server.log" 2>&1 ||
		{ cat "$WORKDIR/server.log"; die "the server did not restart"; }
	perf_breakdown "builtin, directory off" builtin
	perf_breakdown "named, directory off" named
else
	say "10. skipped: no perf, or perf may not sample the whole machine here"
fi
fi

#
# 11. Instruction counts.  Each workload runs twice in a single-user
#     backend under callgrind, once short and once longer; the difference
#     over the extra iterations is their cost, start-up and loading
#     excluded.  Valgrind's CPU has no SHA extensions, so a name the key
#     cache misses costs the portable SHA-256 here (several times the cost
#     on this CPU); the pair loop's 1,000 names hit the cache.  The names
#     table is vacuumed first: the first scan of fresh rows sets their hint
#     bits, some 15 instructions a pair in whichever run comes first.  The
#     name directory's flush of a backend's counts is not counted: it runs
#     once a second of wall-clock time, so under valgrind, some 50 times
#     slower than the CPU, it lands in a run or not as the host's load has
#     it (one flush more or less moved a preloaded pair by 10-20
#     instructions from one run of the bench to the next), where at full
#     speed it costs well under an instruction a pair.
#
#     Before/after: 1.3's library (the commit below, the last before
#     leases, semaphores and the failed-statement rule) is built from git
#     into the scratch directory.  A database of its own, bench_compare,
#     gets this tree's extension and the names table, and 1.3's install
#     scripts, with the library's path for MODULE_PATHNAME, in a schema of
#     their own (old13); each build's runs put its schema first on the
#     search path.  Each library then counts the same workloads on the same
#     rows: the session pair and the pgbench transaction, not preloaded and
#     preloaded (the name directory and, now, the lease table), and the
#     shared pair preloaded.  This tree's also counts, preloaded, the
#     exclusive pair with a live exclusive lease on a name the loop does
#     not lock, and the shared pair with a shared lease on every name it
#     locks (each lock then looks its name's lease up, and the shared lease
#     lets it stand), each against the same statements with the leases
#     given back at once.  A lock looks a lease up only when its key's
#     bucket in the lease table (2 x max_leases of them, chosen by database
#     and key) holds one, so a lease on another name costs the loop nothing
#     unless one of its 1,000 names shares the lease's bucket: then that
#     name's lock pays the look-up, about 0.5 instructions a pair on
#     average.
#
old_commit=b6b083a
compare_old=0
if section 11; then
command -v valgrind >/dev/null 2>&1 || install_as_root valgrind
psql_q -c "VACUUM (FREEZE) names" >/dev/null
if ! command -v valgrind >/dev/null 2>&1; then
	:
elif ! git cat-file -e "$old_commit^{commit}" 2>/dev/null; then
	say "11. no git history here: the counts of 1.3 ($old_commit) are skipped"
else
	say "11. building 1.3 ($old_commit) into the scratch directory"
	mkdir "$WORKDIR/old"
	git archive "$old_commit" | tar -x -C "$WORKDIR/old"
	make -s -C "$WORKDIR/old" PG_CONFIG="$PG_CONFIG" >"$WORKDIR/old/build.log" 2>&1 ||
		{ cat "$WORKDIR/old/build.log"; die "1.3 did not build"; }
	psql_q -c "CREATE DATABASE bench_compare" >/dev/null
	# a session each: one backend cannot load both libraries
	{
		echo "CREATE SCHEMA old13; SET search_path = old13;"
		for script in 1.0 1.0--1.1 1.1--1.2 1.2--1.3; do
			grep -v '^\\echo' "$WORKDIR/old/sql/advlock_named--$script.sql"
		done | sed "s|MODULE_PATHNAME|$WORKDIR/old/advlock_named|"
	} | psql_q -d bench_compare >/dev/null
	psql_q -d bench_compare -c "CREATE EXTENSION advlock_named" -c "$names_table" -c "VACUUM (FREEZE) names" >/dev/null
	compare_old=1
fi
fi

cluster_stop

if section 11; then
if command -v valgrind >/dev/null 2>&1; then
	say "11. instructions (callgrind, single-user backend)"
	rm -f "$WORKDIR/callgrind.failed"
	callgrind_database=postgres
	# the first backend after the server stopped writes the relation cache's
	# init files, a few instructions a pair in the first short run otherwise
	echo "SELECT count(*) FROM names" | as_cluster_user "$bindir/postgres" --single -D "$WORKDIR/data" postgres >/dev/null 2>&1
	callgrind_totals() {	# preload statements-file: prints "instructions L1-misses"; the backend's output in single.out
		local out="$WORKDIR/callgrind.out"
		as_cluster_user valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" \
			"--toggle-collect=advlock_named::(anonymous namespace)::Flush()" --collect-atstart=yes \
			"$bindir/postgres" --single -D "$WORKDIR/data" -c shared_preload_libraries="$1" \
			-c advlock_named.max_locks_per_session=0 "$callgrind_database" <"$2" >"$WORKDIR/single.out" 2>&1
		# (a subshell: counts_ok tells the script)
		grep -q 'ERROR:\|FATAL:' "$WORKDIR/single.out" && cp "$WORKDIR/single.out" "$WORKDIR/callgrind.failed"
		callgrind_annotate --auto=no "$out" | awk '/PROGRAM TOTALS/ {
			gsub(",", ""); gsub(/\([^)]*\)/, ""); print $1, $4 + $5 + $6; exit }'
		rm -f "$out"
	}
	counts_ok() {	# dies if a backend under callgrind_totals said ERROR or FATAL
		[ ! -e "$WORKDIR/callgrind.failed" ] || { cat "$WORKDIR/callgrind.failed"; die "callgrind: a statement failed"; }
	}
	per_iteration() {	# preload units per-unit statements-for-units...: "instructions L1-misses" per iteration
		local preload=$1 units=$2 per_unit=$3 short long
		shift 3
		"$@" 1 >"$WORKDIR/short.sql"
		"$@" "$((units + 1))" >"$WORKDIR/long.sql"
		chmod 644 "$WORKDIR/short.sql" "$WORKDIR/long.sql"
		short=$(callgrind_totals "$preload" "$WORKDIR/short.sql")
		long=$(callgrind_totals "$preload" "$WORKDIR/long.sql")
		awk -v s="$short" -v l="$long" -v n="$((units * per_unit))" 'BEGIN {
			split(s, a, " "); split(l, b, " "); printf "%.0f %.1f\n", (b[1] - a[1]) / n, (b[2] - a[2]) / n }'
	}
	pair_loop() {	# lock unlock argument rounds
		echo "SELECT count(CASE WHEN $1($3) THEN $2($3) END) FROM names, generate_series(1, $4);"
	}
	transactions() {	# named|builtin|control count: the pgbench script's transactions, one name each
		local i shared exclusive hot=$hot_key quote=
		case $1 in
			named) shared=named_xact_lock_shared exclusive=named_xact_lock_exclusive hot="'hot'" quote="'" ;;
			builtin) shared=pg_advisory_xact_lock_shared exclusive=pg_advisory_xact_lock ;;
			control) shared=control_advisory_xact_lock_shared exclusive=control_advisory_xact_lock ;;
		esac
		for i in $(seq 1 "$2"); do
			printf 'BEGIN\nSELECT %s(%s)\nSELECT %s(%s%s%s)\nCOMMIT\n' "$shared" "$hot" "$exclusive" "$quote" "$i" "$quote"
		done
	}
	for preload in "" advlock_named; do
		tag=$([ -n "$preload" ] && echo ", directory on" || true)
		read -r named_ir named_miss <<<"$(per_iteration "$preload" 10 1000 pair_loop named_try_lock_exclusive named_unlock_exclusive name)"
		read -r builtin_ir builtin_miss <<<"$(per_iteration "$preload" 10 1000 pair_loop pg_try_advisory_lock pg_advisory_unlock key)"
		counts_ok
		record "instructions per session lock+unlock pair$tag: named / builtin" "$named_ir / $builtin_ir" \
			"ratio $(ratio "$named_ir" "$builtin_ir"); L1 misses $named_miss / $builtin_miss"
		[ -n "$preload" ] && continue
		read -r control_ir control_miss <<<"$(per_iteration "" 10 1000 pair_loop control_try_advisory_lock control_advisory_unlock key)"
		record "instructions per session lock+unlock pair: control" "$control_ir" \
			"ratio to the builtin $(ratio "$control_ir" "$builtin_ir"); L1 misses $control_miss"
	done
	read -r named_ir named_miss <<<"$(per_iteration "" 1000 1 transactions named)"
	read -r builtin_ir builtin_miss <<<"$(per_iteration "" 1000 1 transactions builtin)"
	read -r control_ir control_miss <<<"$(per_iteration "" 1000 1 transactions control)"
	counts_ok
	record "instructions per transaction of the pgbench script: named / control / builtin" \
		"$named_ir / $control_ir / $builtin_ir" \
		"ratios to the builtin $(ratio "$named_ir" "$builtin_ir") / $(ratio "$control_ir" "$builtin_ir"); a new name each, portable SHA-256"
	if [ "$compare_old" = 1 ]; then
		# both libraries' functions on the search path, this build's first
		as_built() {	# statements...
			if [ "$build" = now ]; then echo "SET search_path = public, old13;"; else echo "SET search_path = old13, public;"; fi
			"$@"
		}
		# Leases taken before the workload: (a) kept, (b) given back in the
		# same statement, the control, whose runs differ from (a)'s only in
		# that (the state earlier statements leave moves a pair's count by
		# up to about 15 instructions).
		with_leases() {	# lease-call from-clause keep|release statements...
			local call=$1 from=$2 keep=$3
			shift 3
			echo "SET advlock_named.max_leases_per_role = 0;"
			if [ "$keep" = keep ]; then echo "SELECT count($call) FROM $from;"; else echo "SELECT count(named_lease_release(name, $call)) FROM $from;"; fi
			echo "SELECT count(*) AS live_leases FROM named_leases;"
			"$@"
		}
		live_leases() { grep -q "live_leases = \"$1\"" "$WORKDIR/single.out" || die "callgrind: $1 live leases expected"; }
		declare -A counted=()
		callgrind_database=bench_compare
		for build in old now; do
			library=$([ "$build" = old ] && echo "$WORKDIR/old/advlock_named" || echo advlock_named)
			for preload in "" "$library"; do
				on=$([ -n "$preload" ] && echo preloaded || echo plain)
				read -r "counted[$build,$on,pair]" _ <<<"$(per_iteration "$preload" 10 1000 as_built pair_loop named_try_lock_exclusive named_unlock_exclusive name)"
				read -r "counted[$build,$on,transaction]" _ <<<"$(per_iteration "$preload" 1000 1 as_built transactions named)"
			done
			read -r "counted[$build,preloaded,shared]" _ <<<"$(per_iteration "$library" 10 1000 as_built pair_loop named_try_lock_shared named_unlock_shared name)"
		done
		for keep in release keep; do
			read -r "counted[$keep,elsewhere]" _ <<<"$(per_iteration advlock_named 10 1000 with_leases \
				"named_lease_exclusive(name, '1 hour')" "(VALUES ('elsewhere')) v(name)" "$keep" \
				pair_loop named_try_lock_exclusive named_unlock_exclusive name)"
			live_leases "$([ "$keep" = keep ] && echo 1 || echo 0)"
			read -r "counted[$keep,each]" _ <<<"$(per_iteration advlock_named 10 1000 with_leases \
				"named_lease_shared(name, '1 hour')" names "$keep" \
				pair_loop named_try_lock_shared named_unlock_shared name)"
			live_leases "$([ "$keep" = keep ] && echo 1000 || echo 0)"
		done
		callgrind_database=postgres
		counts_ok
		change() { awk -v o="$1" -v n="$2" 'BEGIN { printf "%+d (%+.2f %%)", n - o, (n - o) * 100 / o }'; }	# from to
		before_after() {	# label kind on note
			local old=${counted[old,$3,$2]} now=${counted[now,$3,$2]}
			record "$1" "$old / $now" "now - 1.3: $(change "$old" "$now")$4"
		}
		before_after "instructions per session pair, 1.3 / now: not preloaded" pair plain "; no lease table"
		before_after "instructions per session pair, 1.3 / now: preloaded, no lease" pair preloaded "; directory on"
		record "instructions per session pair, now, preloaded: a lease on another name, given back / live" \
			"${counted[release,elsewhere]} / ${counted[keep,elsewhere]}" \
			"live - given back: $(change "${counted[release,elsewhere]}" "${counted[keep,elsewhere]}"); live - 1.3: $(change "${counted[old,preloaded,pair]}" "${counted[keep,elsewhere]}")"
		before_after "instructions per shared session pair, 1.3 / now: preloaded, no lease" shared preloaded ""
		record "instructions per shared session pair, now, preloaded: a shared lease on each name, given back / live" \
			"${counted[release,each]} / ${counted[keep,each]}" \
			"$(change "${counted[release,each]}" "${counted[keep,each]}"): each lock looks its name's lease up"
		before_after "instructions per pgbench transaction, 1.3 / now: not preloaded" transaction plain ""
		before_after "instructions per pgbench transaction, 1.3 / now: preloaded" transaction preloaded ""
	fi
else
	say "11. skipped: no valgrind (apt-get install valgrind)"
fi
fi


#
# 12-14. Leases and semaphores as an application sees them: bench/client.py
#     (Python, psycopg 3 over the Unix socket) measures and prints raw
#     samples; the figures are made here.  Leases need the library
#     preloaded on 15 and 16, and section 14's 100 requesters a connection
#     each: the cluster is (re)started with both.
#
client_ready=0
if section 12 || section 13 || section 14; then
	/usr/bin/python3 -c 'import psycopg' >/dev/null 2>&1 || install_as_root python3-psycopg
	if /usr/bin/python3 -c 'import psycopg' >/dev/null 2>&1; then
		cluster_restart "-c shared_preload_libraries=advlock_named -c max_connections=130"
		client_ready=1
	else
		say "12-14. skipped: no psycopg 3 for /usr/bin/python3 (apt-get install python3-psycopg)"
	fi
fi
client() { /usr/bin/python3 bench/client.py "$@"; }
us_per_pair() {	# times kind: the median of the rounds' times, in µs per pair
	awk -v t="$(loop_column "$1" "pairs_$2" | median)" -v n="$client_pairs" 'BEGIN { printf "%.1f µs", t * 1000 / n }'
}

#
# 12. Lease, named lock, builtin and Redis pairs from one client
#
if section 12 && [ "$client_ready" = 1 ]; then
	kinds=lease,lock,builtin
	command -v redis-server >/dev/null 2>&1 || install_as_root redis-server
	/usr/bin/python3 -c 'import redis' >/dev/null 2>&1 || install_as_root python3-redis
	if command -v redis-server >/dev/null 2>&1 && /usr/bin/python3 -c 'import redis' >/dev/null 2>&1; then
		# a private instance: no TCP port, no persistence, stopped after the section
		redis-server --port 0 --unixsocket "$WORKDIR/redis.sock" --unixsocketperm 700 --save '' \
			--appendonly no --dir "$WORKDIR" --logfile "$WORKDIR/redis.log" &
		redis_pid=$!
		deadline=$((SECONDS + 10))
		until redis-cli -s "$WORKDIR/redis.sock" ping >/dev/null 2>&1; do
			[ "$SECONDS" -lt "$deadline" ] || { cat "$WORKDIR/redis.log"; die "redis-server did not start"; }
			sleep 0.05
		done
		kinds=$kinds,redis
	else
		say "12. without Redis: no redis-server or python3-redis (apt-get install redis-server python3-redis)"
	fi
	say "12. from a client: $client_rounds rounds of $client_pairs acquire+release pairs per kind ($kinds)"
	# psycopg 3 as Debian builds it (libpq through ctypes), then psycopg2 (C)
	/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 || install_as_root python3-psycopg2
	drivers=psycopg
	/usr/bin/python3 -c 'import psycopg2' >/dev/null 2>&1 && drivers="psycopg psycopg2"
	for driver in $drivers; do
		tag=
		[ "$driver" = psycopg ] || tag=" ($driver)"
		client_times=$(client pairs --kinds "$kinds" --rounds "$client_rounds" --pairs "$client_pairs" \
			--redis "$WORKDIR/redis.sock" --driver "$driver")
		record "client pair$tag: lease (named_lease_exclusive + named_lease_release)" \
			"$(us_per_pair "$client_times" lease)" "median of $client_rounds rounds"
		record "client pair$tag: named session lock" "$(us_per_pair "$client_times" lock)" "named_lock_exclusive + named_unlock_exclusive"
		record "client pair$tag: builtin session lock" "$(us_per_pair "$client_times" builtin)" "pg_advisory_lock + pg_advisory_unlock"
		if [[ $kinds == *redis ]]; then
			record "client pair$tag: Redis recipe" "$(us_per_pair "$client_times" redis)" "SET NX PX + compare-and-delete script"
			record_rounds_ratio "client pair$tag: lease/Redis (target <= 1)" "$client_times" "$client_rounds" pairs lease redis
			record_rounds_ratio "client pair$tag: builtin/Redis (what any statement pays)" "$client_times" "$client_rounds" pairs builtin redis
		fi
		record_rounds_ratio "client pair$tag: lease/named lock (target <= 1.4)" "$client_times" "$client_rounds" pairs lease lock
		record_rounds_ratio "client pair$tag: named lock/builtin" "$client_times" "$client_rounds" pairs lock builtin
	done
	stop_redis
fi

#
# 13. From a lease's expiry to the grant of the waiter queued behind it
#
if section 13 && [ "$client_ready" = 1 ]; then
	say "13. expiry to grant, a lease of 50 ms nobody renews, $expiry_rounds rounds per waiter"
	for waiter in lease lock; do
		samples=$(client expiry --waiter "$waiter" --rounds "$expiry_rounds" --ttl-ms 50)
		read -r p50 p90 max <<<"$(awk -v l="expiry_$waiter" '$1 == l { print $2 }' <<<"$samples" | percentiles)"
		late=$(awk -v l="expiry_${waiter}_late" '$1 == l { print $2 }' <<<"$samples")
		what=$([ "$waiter" = lease ] && echo "named_lease_exclusive, wait 1 s" || echo "named_lock_exclusive, timeout 1 s")
		record "expiry to grant, $waiter waiter: p50" "$p50 ms" "$what; $(grep -c "^expiry_$waiter " <<<"$samples") rounds${late:+, $late more with the waiter queued too late}"
		record "expiry to grant, $waiter waiter: p90" "$p90 ms" "the waiter's clock_timestamp() - named_leases.expires"
		record "expiry to grant, $waiter waiter: max" "$max ms" ""
	done
fi

#
# 14. Semaphores: (a) a session permit's acquire+release against a named
#     session lock pair, from one client; (b) 100 requesters on 4 permits,
#     named_semaphore_acquire against integer keys tried in turn, each
#     method in every round, the order reversed in every other round
#
if section 14 && [ "$client_ready" = 1 ]; then
	say "14. semaphores: (a) $client_rounds rounds of $client_pairs pairs; (b) 100 requesters on 4 permits, $crowd_rounds rounds"
	client_times=$(client pairs --kinds semaphore,lock --rounds "$client_rounds" --pairs "$client_pairs")
	record "semaphore client pair: a session permit" "$(us_per_pair "$client_times" semaphore)" \
		"named_semaphore_acquire(name, 4) + named_semaphore_release; median of $client_rounds rounds"
	record "semaphore client pair: named session lock" "$(us_per_pair "$client_times" lock)" "the same rounds"
	record_rounds_ratio "semaphore client pair: permit/named lock" "$client_times" "$client_rounds" pairs semaphore lock
	crowd_times=$(for r in $(seq 1 "$crowd_rounds"); do
		methods="semaphore keys"
		[ $((r % 2)) = 0 ] && methods="keys semaphore"
		for method in $methods; do
			client crowd --method "$method" --requesters 100 --permits 4 --hold-ms 20 --retry-ms 10 --each "$crowd_each" || exit 1
		done
	done)
	crowd() { awk -v l="crowd_$1_$2" '$1 == l { print $2 }' <<<"$crowd_times" | median; }	# method figure
	what="100 requesters on 4 permits, $crowd_each grants each, held 20 ms"
	record "semaphore crowd: longest wait, semaphore / keys" "$(crowd semaphore longest) / $(crowd keys longest) ms" \
		"$what; medians of $crowd_rounds rounds"
	record "semaphore crowd: median wait, semaphore / keys" "$(crowd semaphore median) / $(crowd keys median) ms" \
		"keys: pg_try_advisory_lock on 4 keys in turn, 10 ms between tries"
	record "semaphore crowd: grants per second, semaphore / keys" "$(crowd semaphore rate) / $(crowd keys rate)" \
		"at most 200 (4 permits / 20 ms)"
fi

if [ -n "$markdown" ]; then
	{
		# what RESULTS.md's table of a release states about its run
		echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- src 2>/dev/null || echo ', src/ with uncommitted changes')"
		echo "- host: $(nproc) vCPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(. /etc/os-release && echo "$PRETTY_NAME")"
		echo "- server: $pgversion"
		echo "- run: $([ "$quick" = 1 ] && echo quick || echo full), started $started, ended $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "- rounds: loop $loop_repeats, pgbench $pgbench_pairs of ${pgbench_seconds} s, pgbench -C $connect_rounds, first call $first_call_rounds, wake-up $latency_rounds, client pairs $client_rounds of $client_pairs, expiry $expiry_rounds, semaphore crowd $crowd_rounds of $crowd_each grants each"
		[ "$sections" = all ] || echo "- sections: $sections"
		echo
		echo "| measurement | result | note |"
		echo "| --- | ---: | --- |"
		for row in "${results[@]}"; do
			IFS='|' read -r what value note <<<"$row"
			echo "| $what | $value | $note |"
		done
	} >"$markdown"
	say "results written to $markdown"
fi
