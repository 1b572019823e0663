#!/usr/bin/env bash
# Mutual-exclusion torture test.
#
#   test/torture.sh [--workers N] [--seconds S] [--self-check]
#
# N worker sessions take shared or exclusive named locks on three names,
# one name or a set of two at a time, in every scope and form (waiting,
# timed with tiny timeouts, transaction or session), while a killer
# terminates random workers.  Sets are taken in key order, so no deadlock
# may occur: any error other than the killer's fails the test.  Each worker, once it
# believes it holds a name, announces that with an integer "sentinel"
# advisory lock and looks in pg_locks for another session announcing a
# conflicting hold of the same name.  Any such overlap is a violation.
#
# Reports acquisitions and give-ups (both must happen), kills (must
# happen), violations (must be 0), false answers given while the session
# held a named lock (must be 0: every iteration ends holding nothing) and
# advisory locks left after the run (must be 0).  --self-check makes the
# workers take shared locks where they claim exclusive ones, so violations
# must appear: proof that the detector detects.
#
# Uses the server in PGHOST/PGPORT if one answers, else a throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

workers=4
seconds=10
broken=false
while [ $# -gt 0 ]; do
	case $1 in
		--workers) workers=$2; shift 2 ;;
		--seconds) seconds=$2; shift 2 ;;
		--self-check) broken=true; shift ;;
		*) die "usage: $0 [--workers N] [--seconds S] [--self-check]" ;;
	esac
done

trap cleanup EXIT
if ! psql -X -q -c 'SELECT 1' >/dev/null 2>&1; then
	ensure_prerequisites
	build_and_install
	make_workdir
	cluster_start
fi
logdir=$(mktemp -d "${TMPDIR:-/tmp}/advlock_named_torture.XXXXXX")


psql_q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS advlock_named;
DROP SCHEMA IF EXISTS torture CASCADE;
CREATE SCHEMA torture;
-- pids being terminated: their announcements may outlive their locks briefly
CREATE TABLE torture.killed (pid int PRIMARY KEY);
CREATE TABLE torture.violations (pid int, name text, mode text, other_pid int, other_mode text);
-- a false answer must leave nothing held: what pg_locks said right after one
CREATE TABLE torture.held_after_false (pid int, locks bigint);
CREATE SEQUENCE torture.acquisitions;
CREATE SEQUENCE torture.timeouts;

CREATE PROCEDURE torture.worker(seconds float8, broken boolean)
LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
	names text[] := ARRAY['alpha', 'beta', 'gamma'];
	idxs int[];					-- one name, or a set of two
	picked text[];
	exclusive boolean;
	form int;
	timeout interval;
	got boolean;
	mode_code int;
	lock_mode text;
	statement text;
	idx int;
BEGIN
	WHILE clock_timestamp() < deadline LOOP
		idxs := ARRAY[1 + floor(random() * 3)::int];
		IF random() < 0.25 THEN
			idxs := idxs || (1 + (idxs[1] + floor(random() * 2)::int) % 3);
		END IF;
		SELECT array_agg(names[i]) INTO picked FROM unnest(idxs) i;
		exclusive := random() < 0.3;
		mode_code := CASE WHEN exclusive THEN 2 ELSE 1 END;
		-- the self-check takes a shared lock where it claims an exclusive one
		lock_mode := CASE WHEN exclusive AND NOT broken THEN 'exclusive' ELSE 'shared' END;
		form := floor(random() * 4)::int;
		timeout := floor(random() * 4) * interval '1 ms';	-- 0 (try) to 3 ms

		-- forms: 0 session, 1 transaction, 2 session timed, 3 transaction timed
		statement := format(CASE WHEN form < 2 THEN 'SELECT %I($1) IS NOT NULL' ELSE 'SELECT %I($1, $2)' END,
							format('named_%slock_%s', CASE WHEN form IN (1, 3) THEN 'xact_' END, lock_mode));
		-- the functions take one name as text and a set as text[]
		IF cardinality(picked) = 1 THEN
			EXECUTE statement INTO got USING picked[1], timeout;
		ELSE
			EXECUTE statement INTO got USING picked, timeout;
		END IF;

		IF NOT got THEN
			PERFORM nextval('torture.timeouts');
			-- every earlier iteration let go of all it took
			INSERT INTO torture.held_after_false
			SELECT pg_backend_pid(), count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND objsubid = 1 AND pid = pg_backend_pid()
			HAVING count(*) > 0;
			COMMIT;
			CONTINUE;
		END IF;
		PERFORM nextval('torture.acquisitions');

		-- announce the holds, then look for conflicting announcements
		FOREACH idx IN ARRAY idxs LOOP
			PERFORM pg_advisory_lock_shared(idx, mode_code);
		END LOOP;
		INSERT INTO torture.violations
		SELECT pg_backend_pid(), names[l.classid], CASE WHEN exclusive THEN 'exclusive' ELSE 'shared' END,
			   l.pid, CASE l.objid WHEN 2 THEN 'exclusive' ELSE 'shared' END
		FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
		  AND l.classid = ANY (idxs) AND (exclusive OR l.objid = 2)
		  AND l.pid <> pg_backend_pid()
		  AND l.pid NOT IN (SELECT pid FROM torture.killed);
		PERFORM pg_sleep(random() * 0.002);

		-- withdraw the announcements before the locks go
		FOREACH idx IN ARRAY idxs LOOP
			PERFORM pg_advisory_unlock_shared(idx, mode_code);
		END LOOP;
		IF form IN (0, 2) THEN
			EXECUTE format('SELECT named_unlock_%s($1)', lock_mode) USING picked;
		END IF;
		COMMIT;
	END LOOP;
END
$$;
SQL

deadline=$((SECONDS + seconds))

# Keeps one worker session running until the deadline, starting a new one
# whenever the killer ends it; logs what each session said.
worker_slot() {
	local slot=$1 run=0 left
	while left=$((deadline - SECONDS)); [ "$left" -gt 0 ]; do
		run=$((run + 1))
		PGAPPNAME=torture-worker psql -X -q -v ON_ERROR_STOP=1 \
			-c "CALL torture.worker($left, $broken)" >"$logdir/worker-$slot-$run.log" 2>&1 || true
	done
}

say "torture: $workers workers for ${seconds}s$([ "$broken" = true ] && echo ', self-check with broken exclusion')"
pids=()
for slot in $(seq 1 "$workers"); do
	worker_slot "$slot" &
	pids+=($!)
done

kills=0
while [ $SECONDS -lt $deadline ]; do
	sleep 0.3
	victim=$(psql_q -c "SELECT pid FROM pg_stat_activity
		WHERE application_name = 'torture-worker' ORDER BY random() LIMIT 1")
	[ -n "$victim" ] || continue
	psql_q -c "INSERT INTO torture.killed VALUES ($victim)" >/dev/null
	# a victim that ended on its own meanwhile is no kill
	terminated=$(psql_q -c "SET client_min_messages = error" \
		-c "SELECT pg_terminate_backend($victim, 5000)")
	psql_q -c "DELETE FROM torture.killed WHERE pid = $victim" >/dev/null
	if [ "$terminated" = t ]; then kills=$((kills + 1)); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

# Every session ended either normally or because it was terminated.
unexpected=$(grep -L -e 'terminating connection due to administrator command' "$logdir"/*.log |
	xargs -r grep -l . || true)

read -r acquisitions timeouts violations held_after_false leftover <<<"$(psql_q -F ' ' -c "
	SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM torture.acquisitions),
		   (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM torture.timeouts),
		   (SELECT count(*) FROM torture.violations),
		   (SELECT count(*) FROM torture.held_after_false),
		   (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')")"

echo "acquisitions: $acquisitions, gave up: $timeouts, kills: $kills, violations: $violations," \
	"held after false: $held_after_false, leftover locks: $leftover"
if [ -n "$unexpected" ]; then
	say "sessions that failed unexpectedly:"
	for log in $unexpected; do cat "$log"; done
fi
if [ "$violations" -gt 0 ] && [ "$broken" = false ]; then
	psql -X -c "SELECT * FROM torture.violations LIMIT 5"
fi
psql_q -c "DROP SCHEMA torture CASCADE" >/dev/null 2>&1
rm -rf "$logdir"

if [ "$broken" = true ]; then
	[ "$violations" -gt 0 ] || die "self-check: broken exclusion went unnoticed"
	say "self-check passed: the detector saw $violations violations"
	exit 0
fi
[ "$acquisitions" -gt 0 ] || die "no lock was ever acquired"
[ "$timeouts" -gt 0 ] || die "no attempt ever gave up, so refusals went untested"
[ "$kills" -gt 0 ] || die "no worker was ever terminated, so session ends went untested"
[ -z "$unexpected" ] || die "some sessions failed unexpectedly"
[ "$violations" -eq 0 ] || die "mutual exclusion was violated"
[ "$held_after_false" -eq 0 ] || die "a lock call answered false while the session held a lock"
[ "$leftover" -eq 0 ] || die "advisory locks were left behind"
say "torture passed"
