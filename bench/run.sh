#!/usr/bin/env bash
# make bench: measure named locks against the integer builtins, side by
# side in one run on a throwaway cluster, and print ratios.
#
#   bench/run.sh [--quick] [--markdown FILE]
#
# 1. in-server loop: lock+unlock pairs on 1,000 names, session and
#    transaction scope, shared and exclusive: (a) named_* functions, (b) the
#    builtins on precomputed keys, (c) the builtins fed by the plain-SQL
#    SHA-256 key; and key derivation alone for 8-, 32- and 200-byte names
# 2. pgbench, 1/8/32 clients, a shared xact lock on a hot name and an
#    exclusive one on a spread name per transaction, named vs builtins
# 3. wake-up latency: 16 shared holders release; how long until the
#    exclusive waiter runs, queued (named_lock_exclusive) or polling (try +
#    10 ms sleep, what many client libraries do)
# 4. scale: lock+unlock cost while the session holds 1k, 10k, 100k named
#    locks, and named_unlock_all() per lock
#
# Timings vary with the machine; the ratios are what to compare.  Each
# figure is the median of several interleaved runs.  --quick runs fewer and
# smaller rounds.  --markdown FILE also writes the results as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

quick=0
markdown=
while [ $# -gt 0 ]; do
	case $1 in
		--quick) quick=1; shift ;;
		--markdown) markdown=$2; shift 2 ;;
		*) die "usage: $0 [--quick] [--markdown FILE]" ;;
	esac
done
if [ "$quick" = 1 ]; then
	repeats=1 loop_rounds=200 pgbench_seconds=3 pgbench_pairs=1 latency_rounds=10 scale_sizes="1000 10000"
else
	repeats=3 loop_rounds=1000 pgbench_seconds=3 pgbench_pairs=16 latency_rounds=40 scale_sizes="1000 10000 100000"
fi

trap cleanup EXIT
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

psql_q >/dev/null <<'SQL'
CREATE EXTENSION advlock_named;
ALTER SYSTEM SET advlock_named.max_locks_per_session = 0;
SELECT pg_reload_conf();
CREATE TABLE names AS
	SELECT 'job-' || g AS name, named_lock_key('job-' || g) AS key FROM generate_series(1, 1000) g;
CREATE FUNCTION sql_key(name text) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN ('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint;
SQL

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
ratio() { awk -v a="$1" -v b="$2" -v digits="${3:-2}" 'BEGIN { printf "%." digits "f", a / b }'; }	# a b [digits]

#
# 1. In-server loop
#
say "1. in-server loop: $((loop_rounds * 1000)) lock+unlock pairs per variant"
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
} | psql_q >/dev/null

loop_sql() {
	# warm up every function once
	session_pair named_try_lock_exclusive named_unlock_exclusive name | sed 's/generate_series(1, [0-9]*)/generate_series(1, 1)/'
	for r in $(seq 1 "$repeats"); do
		for mode in exclusive shared; do
			suffix=$([ "$mode" = shared ] && echo _shared || true)
			echo "\\echo @session_${mode}_named"
			session_pair "named_try_lock_$mode" "named_unlock_$mode" name
			echo "\\echo @session_${mode}_builtin"
			session_pair "pg_try_advisory_lock$suffix" "pg_advisory_unlock$suffix" key
			echo "\\echo @session_${mode}_sql"
			session_pair "pg_try_advisory_lock$suffix" "pg_advisory_unlock$suffix" 'sql_key(name)'
			x=$([ "$mode" = shared ] && echo s || echo x)
			echo "\\echo @xact_${mode}_named"
			echo "CALL named_xact_$x();"
			echo "\\echo @xact_${mode}_builtin"
			echo "CALL builtin_xact_$x();"
			echo "\\echo @xact_${mode}_sql"
			echo "CALL sql_xact_$x();"
		done
	done
}
loop_times=$(loop_sql | timed_queries)
pairs=$((loop_rounds * 1000))
for scope in session xact; do
	for mode in exclusive shared; do
		named=$(awk -v l="${scope}_${mode}_named" '$1 == l { print $2 }' <<<"$loop_times" | median)
		builtin=$(awk -v l="${scope}_${mode}_builtin" '$1 == l { print $2 }' <<<"$loop_times" | median)
		sql=$(awk -v l="${scope}_${mode}_sql" '$1 == l { print $2 }' <<<"$loop_times" | median)
		ns() { awk -v t="$1" -v n="$pairs" 'BEGIN { printf "%.0f ns", t * 1e6 / n }'; }
		record "loop $scope $mode: named (a)" "$(ns "$named")" "per pair"
		record "loop $scope $mode: builtin on keys (b)" "$(ns "$builtin")" "per pair"
		record "loop $scope $mode: builtin on SQL sha256 key (c)" "$(ns "$sql")" "per pair"
		record "loop $scope $mode: a/b (target <= 1.5)" "$(ratio "$named" "$builtin")" ""
		record "loop $scope $mode: c/a (target >= 3)" "$(ratio "$sql" "$named")" ""
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

#
# 2. pgbench
#
say "2. pgbench, ${pgbench_seconds}s per run"
cat >"$WORKDIR/named.pgbench" <<'SCRIPT'
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
tps() {	# script clients
	"$bindir/pgbench" -n -M prepared -T "$pgbench_seconds" -c "$2" -j "$(( $2 < $(nproc) ? $2 : $(nproc) ))" \
		-f "$1" 2>/dev/null | awk '/^tps/ { print $3; exit }'
}
# Throughput on a shared host drifts by several per cent between runs, so
# the runs come in back-to-back pairs, builtin first in odd pairs and named
# first in even ones (drift favours neither), and the ratio is the median of
# the pairs' ratios.
for clients in 1 8 32; do
	named_runs=() builtin_runs=() pair_ratios=()
	for r in $(seq 1 "$pgbench_pairs"); do
		if [ $((r % 2)) = 1 ]; then
			builtin_runs+=("$(tps "$WORKDIR/builtin.pgbench" "$clients")")
			named_runs+=("$(tps "$WORKDIR/named.pgbench" "$clients")")
		else
			named_runs+=("$(tps "$WORKDIR/named.pgbench" "$clients")")
			builtin_runs+=("$(tps "$WORKDIR/builtin.pgbench" "$clients")")
		fi
		pair_ratios+=("$(ratio "${named_runs[-1]}" "${builtin_runs[-1]}" 4)")
	done
	named=$(printf '%s\n' "${named_runs[@]}" | median)
	builtin=$(printf '%s\n' "${builtin_runs[@]}" | median)
	record "pgbench $clients clients: named" "$(printf '%.0f tps' "$named")" ""
	record "pgbench $clients clients: builtin" "$(printf '%.0f tps' "$builtin")" ""
	record "pgbench $clients clients: named/builtin (target >= 0.97)" \
		"$(printf '%s\n' "${pair_ratios[@]}" | median | xargs printf '%.2f')" \
		"median of $pgbench_pairs back-to-back pairs"
done

#
# 3. Wake-up latency
#
say "3. wake-up latency, $latency_rounds rounds per waiter"
psql_q >/dev/null <<'SQL'
CREATE TABLE releases (round int, at timestamptz);
CREATE TABLE wakeups (round int, kind text, at timestamptz);
SQL
# The holders release only when the driver opens a gate (an integer lock it
# holds in a session of its own), so all sixteen hold "import" and the
# waiter is in place however long their connections take to start.
gate_key=20261127
coproc GATE { psql -X -q -t -A -v ON_ERROR_STOP=1 2>&1; }
gate() {	# SQL for the gate session; returns once it has run
	local reply
	printf '\\o /dev/null\n%s;\n\\echo done\n' "$1" >&"${GATE[1]}"
	read -r reply <&"${GATE[0]}"
	[ "$reply" = done ] || die "gate session: $reply"
}
for kind in queue poll; do
	for round in $(seq 1 "$latency_rounds"); do
		gate "SELECT pg_advisory_lock($gate_key)"
		holders=()
		for h in $(seq 1 16); do
			psql_q >/dev/null -c "SELECT named_lock_shared('import')" \
				-c "SELECT pg_advisory_lock_shared($gate_key)" \
				-c "SELECT pg_sleep($h * 0.002)" \
				-c "INSERT INTO releases SELECT $round, clock_timestamp() FROM (SELECT named_unlock_shared('import')) s" &
			holders+=($!)
		done
		wait_until "$(lock_requests import true)" 16 "sixteen shared holders"
		if [ "$kind" = queue ]; then
			psql_q >/dev/null \
				-c "INSERT INTO wakeups SELECT $round, 'queue', clock_timestamp() FROM (SELECT named_lock_exclusive('import')) s" \
				-c "SELECT named_unlock_exclusive('import')" &
			waiter=$!
			wait_until "$(lock_requests import false)" 1 "a queued exclusive request"
		else
			psql_q >/dev/null -c "DO \$\$ BEGIN
				LOOP EXIT WHEN named_try_lock_exclusive('import'); PERFORM pg_sleep(0.01); END LOOP;
				INSERT INTO wakeups VALUES ($round, 'poll', clock_timestamp());
				PERFORM named_unlock_exclusive('import'); END \$\$" &
			waiter=$!
			wait_until "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'DO%' AND wait_event = 'PgSleep'" \
				1 "a polling waiter"
		fi
		gate "SELECT pg_advisory_unlock($gate_key)"
		wait "${holders[@]}" "$waiter"
	done
	read -r p50 p99 samples <<<"$(psql_q -F ' ' -c "
		SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
			   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2), count(*)
		FROM (SELECT extract(epoch FROM w.at - max(r.at)) * 1000 AS ms
			  FROM wakeups w JOIN releases r USING (round)
			  WHERE w.kind = '$kind' GROUP BY w.round, w.at) s")"
	psql_q -c "TRUNCATE releases, wakeups" >/dev/null
	record "wake-up latency, $kind waiter: p50" "$p50 ms" "$samples rounds"
	record "wake-up latency, $kind waiter: p99" "$p99 ms" ""
done
printf '\\q\n' >&"${GATE[1]}"
wait "$GATE_PID"

#
# 4. Scale
#
say "4. scale"
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

cluster_stop

if [ -n "$markdown" ]; then
	{
		echo "| measurement | result | note |"
		echo "| --- | ---: | --- |"
		for row in "${results[@]}"; do
			IFS='|' read -r what value note <<<"$row"
			echo "| $what | $value | $note |"
		done
	} >"$markdown"
	say "results written to $markdown"
fi
