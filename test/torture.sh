#!/usr/bin/env bash
# Mutual-exclusion torture test.
#
#   test/torture.sh [--workers N] [--seconds S] [--self-check]
#
# N worker sessions take shared or exclusive named locks on three names,
# one name or a set of two at a time, in every scope and form (waiting,
# timed with tiny timeouts, transaction or session), while a killer
# terminates random workers.  Where the server has leases, they also take
# shared and exclusive leases on the same names (ttls of 2-20 ms, waits of
# 0-3 ms) and one or two permits of a semaphore of capacity 2 on each name
# (the session's, or with a ttl), and keep a lease or ttl permits for the
# iteration by named_lease_check, whose fence holds them until the
# iteration commits; some are left to expire rather than released (a
# request without a timeout then waits until they are gone: the lease of
# its own session would make it an error).  Sets
# are taken in key order, so no deadlock may occur: any error other than
# the killer's fails the test.  Each worker, once it believes it holds a
# name or permits, announces that with an integer "sentinel" advisory
# lock and looks in pg_locks for another session announcing a conflicting
# hold of the same name (a lock or a lease), or for permits announced
# beyond the capacity.  Any such overlap is a violation.
#
# Reports acquisitions (of them leases and permits) and give-ups (all must
# happen), kills (must happen), violations (must be 0), false answers given
# while the session held a named lock (must be 0: every iteration ends
# holding nothing), advisory locks left after the run and leases or permits
# left once the ttls are over (both must be 0).  --self-check makes the
# workers take shared locks and leases where they claim exclusive ones,
# and a semaphore of capacity 3 where they claim 2, so violations must
# appear: proof that the detector detects.
#
# Uses the server in PGHOST/PGPORT if one answers, else a throwaway cluster
# with the library preloaded (which PostgreSQL 15 needs for leases).
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
	CLUSTER_OPTIONS="-c shared_preload_libraries=advlock_named" cluster_start
fi
logdir=$(mktemp -d "${TMPDIR:-/tmp}/advlock_named_torture.XXXXXX")

psql_q >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS advlock_named;
DROP SCHEMA IF EXISTS torture CASCADE;
CREATE SCHEMA torture;
-- pids being terminated: their announcements may outlive their locks briefly
CREATE TABLE torture.killed (pid int PRIMARY KEY);
-- holding: what the reporting worker held, a lock, a lease or permits
CREATE TABLE torture.violations (pid int, holding text, name text, mode text, other_pid int, other_mode text);
-- a false answer must leave nothing held: what pg_locks said right after one
CREATE TABLE torture.held_after_false (pid int, locks bigint);
CREATE SEQUENCE torture.acquisitions;
CREATE SEQUENCE torture.leases;
CREATE SEQUENCE torture.permits;
CREATE SEQUENCE torture.timeouts;

CREATE PROCEDURE torture.worker(seconds float8, broken boolean, leases boolean)
LANGUAGE plpgsql AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
	names text[] := ARRAY['alpha', 'beta', 'gamma'];
	idxs int[];					-- one name, or a set of two
	picked text[];
	exclusive boolean;
	form int;
	timeout interval;
	ttl interval;
	got boolean;
	mode_code int;
	lock_mode text;
	statement text;
	idx int;
	token bigint;
	permits int;
	session_permits boolean;
	-- a session's permits kept, and announced, past their iteration
	kept_token bigint;
	kept_idx int;
	kept_permits int;
	-- per name, when the leases this session left to expire are surely gone:
	-- a request without a timeout that only its own lease blocks is an error
	left_until timestamptz[] := ARRAY[clock_timestamp(), clock_timestamp(), clock_timestamp()];
BEGIN
	WHILE clock_timestamp() < deadline LOOP
		IF kept_token IS NOT NULL AND random() < 0.1 THEN
			PERFORM pg_advisory_unlock_shared(10 + kept_idx, kept_permits);
			PERFORM named_semaphore_release(names[kept_idx], kept_token);
			kept_token := NULL;
		END IF;
		-- forms: 0 session, 1 transaction, 2 session timed, 3 transaction
		-- timed, 4 lease, 5 semaphore permits
		form := floor(random() * CASE WHEN leases THEN 6 ELSE 4 END)::int;
		idxs := ARRAY[1 + floor(random() * 3)::int];
		IF form < 4 AND random() < 0.25 THEN
			idxs := idxs || (1 + (idxs[1] + floor(random() * 2)::int) % 3);
		END IF;
		SELECT array_agg(names[i]) INTO picked FROM unnest(idxs) i;
		exclusive := random() < 0.3;
		mode_code := CASE WHEN exclusive THEN 2 ELSE 1 END;
		-- the self-check takes a shared lock where it claims an exclusive one
		lock_mode := CASE WHEN exclusive AND NOT broken THEN 'exclusive' ELSE 'shared' END;
		timeout := floor(random() * 4) * interval '1 ms';	-- 0 (try) to 3 ms
		-- often shorter than the hold below, which the fence must make up for
		ttl := (2 + floor(random() * 19)) * interval '1 ms';

		IF form = 4 THEN
			token := CASE lock_mode WHEN 'exclusive' THEN named_lease_exclusive(picked[1], ttl, timeout)
									ELSE named_lease_shared(picked[1], ttl, timeout) END;
		ELSIF form = 5 THEN
			permits := 1 + floor(random() * 2)::int;
			session_permits := random() < 0.5;
			-- the self-check takes a semaphore of capacity 3 where it claims 2
			token := named_semaphore_acquire(picked[1], CASE WHEN broken THEN 3 ELSE 2 END,
											 CASE WHEN NOT session_permits THEN ttl END, timeout, permits);
		ELSE
			IF form < 2 THEN
				PERFORM pg_sleep(greatest(0, extract(epoch FROM
					(SELECT max(left_until[i]) FROM unnest(idxs) i) - clock_timestamp())));
			END IF;
			statement := format(CASE WHEN form < 2 THEN 'SELECT %I($1) IS NOT NULL' ELSE 'SELECT %I($1, $2)' END,
								format('named_%slock_%s', CASE WHEN form IN (1, 3) THEN 'xact_' END, lock_mode));
			-- the functions take one name as text and a set as text[]
			IF cardinality(picked) = 1 THEN
				EXECUTE statement INTO got USING picked[1], timeout;
			ELSE
				EXECUTE statement INTO got USING picked, timeout;
			END IF;
		END IF;
		IF form >= 4 THEN
			got := token IS NOT NULL;
			-- the fence keeps a lease or ttl permits until the commit below;
			-- a ttl can run out before the check, and then nothing is held
			IF got AND NOT (form = 5 AND session_permits) THEN
				BEGIN
					PERFORM named_lease_check(picked[1], token);
				EXCEPTION WHEN SQLSTATE 'LS001' THEN
					got := false;
				END;
			END IF;
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

		IF form = 5 THEN
			PERFORM nextval('torture.permits');
			-- announce the permits, then count every announcement of the semaphore
			PERFORM pg_advisory_lock_shared(10 + idxs[1], permits);
			INSERT INTO torture.violations
			SELECT pg_backend_pid(), 'permits', picked[1], permits || ' permits', NULL,
				   sum(l.objid::int) || ' permits announced'
			FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND l.classid = 10 + idxs[1]
			  AND l.pid NOT IN (SELECT pid FROM torture.killed)
			HAVING sum(l.objid::int) > 2;
			PERFORM pg_sleep(random() * 0.01);
			IF session_permits AND kept_token IS NULL AND random() < 0.3 THEN
				-- a kill from now on leaves them to the session's end
				kept_token := token;
				kept_idx := idxs[1];
				kept_permits := permits;
			ELSE
				PERFORM pg_advisory_unlock_shared(10 + idxs[1], permits);
				-- a session's permits never expire
				IF session_permits OR random() < 0.7 THEN
					PERFORM named_semaphore_release(picked[1], token);
				END IF;
			END IF;
			COMMIT;
			CONTINUE;
		END IF;
		IF form = 4 THEN
			PERFORM nextval('torture.leases');
		END IF;

		-- announce the holds, then look for conflicting announcements
		FOREACH idx IN ARRAY idxs LOOP
			PERFORM pg_advisory_lock_shared(idx, mode_code);
		END LOOP;
		INSERT INTO torture.violations
		SELECT pg_backend_pid(), CASE form WHEN 4 THEN 'lease' ELSE 'lock' END, names[l.classid],
			   CASE WHEN exclusive THEN 'exclusive' ELSE 'shared' END,
			   l.pid, CASE l.objid WHEN 2 THEN 'exclusive' ELSE 'shared' END
		FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted
		  AND l.classid = ANY (idxs) AND (exclusive OR l.objid = 2)
		  AND l.pid <> pg_backend_pid()
		  AND l.pid NOT IN (SELECT pid FROM torture.killed);
		PERFORM pg_sleep(random() * CASE form WHEN 4 THEN 0.01 ELSE 0.002 END);

		-- withdraw the announcements before the locks go, and before the
		-- commit that ends a lease's fence
		FOREACH idx IN ARRAY idxs LOOP
			PERFORM pg_advisory_unlock_shared(idx, mode_code);
		END LOOP;
		IF form IN (0, 2) THEN
			EXECUTE format('SELECT named_unlock_%s($1)', lock_mode) USING picked;
		ELSIF form = 4 AND random() < 0.7 THEN
			PERFORM named_lease_release(picked[1], token);
		ELSIF form = 4 AND got THEN
			left_until[idxs[1]] := greatest(left_until[idxs[1]], clock_timestamp() + ttl);
		END IF;
		COMMIT;
	END LOOP;
	-- a session that ends on its own ends with nothing held: the
	-- announcement would outlive the permits for a moment
	IF kept_token IS NOT NULL THEN
		PERFORM pg_advisory_unlock_shared(10 + kept_idx, kept_permits);
		PERFORM named_semaphore_release(names[kept_idx], kept_token);
	END IF;
END
$$;
SQL

# 15 and 16 without preloading have no lease table
if psql_q -c 'SELECT count(*) FROM named_leases' >/dev/null 2>&1; then leases=true; else leases=false; fi

deadline=$((SECONDS + seconds))

# Keeps one worker session running until the deadline, starting a new one
# whenever the killer ends it; logs what each session said.
worker_slot() {
	local slot=$1 run=0 left
	while left=$((deadline - SECONDS)); [ "$left" -gt 0 ]; do
		run=$((run + 1))
		PGAPPNAME=torture-worker psql -X -q -v ON_ERROR_STOP=1 \
			-c "CALL torture.worker($left, $broken, $leases)" >"$logdir/worker-$slot-$run.log" 2>&1 || true
	done
}

say "torture: $workers workers for ${seconds}s$([ "$leases" = true ] || echo ', no leases on this server')$([ "$broken" = true ] && echo ', self-check with broken exclusion')"
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
# A worker's statements end within milliseconds of the deadline; one still
# running long after it is stuck where neither a cancel nor a termination
# reaches it.  Its client is let go of; the server keeps the session.
stuck=0
for pid in "${pids[@]}"; do
	while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $((deadline + 10)) ]; do sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		stuck=$((stuck + 1))
		kill $(ps -o pid= --ppid "$pid") "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
done

# Every session ended either normally or because it was terminated.
unexpected=$(grep -L -e 'terminating connection due to administrator command' "$logdir"/*.log |
	xargs -r grep -l . || true)

read -r acquisitions lease_count permit_count timeouts violations held_after_false leftover <<<"$(psql_q -F ' ' -c "
	SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM torture.acquisitions),
		   (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM torture.leases),
		   (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM torture.permits),
		   (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM torture.timeouts),
		   (SELECT count(*) FROM torture.violations),
		   (SELECT count(*) FROM torture.held_after_false),
		   (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')")"
# Once the ttls are over and the ended sessions have gone (which takes
# their permits), nothing may be left.
leftover_leases=0
if [ "$leases" = true ]; then
	for _ in $(seq 50); do
		leftover_leases=$(psql_q -c "SELECT count(*) FROM named_leases")
		[ "$leftover_leases" -eq 0 ] && break
		sleep 0.1
	done
fi

echo "acquisitions: $acquisitions (leases: $lease_count, permits: $permit_count), gave up: $timeouts," \
	"kills: $kills, violations: $violations, held after false: $held_after_false, leftover locks: $leftover," \
	"leftover leases: $leftover_leases"
if [ -n "$unexpected" ]; then
	say "sessions that failed unexpectedly:"
	for log in $unexpected; do cat "$log"; done
fi
if [ "$violations" -gt 0 ] && [ "$broken" = false ]; then
	psql -X -c "SELECT * FROM torture.violations LIMIT 5"
fi
# a stuck session holds locks that dropping the schema would wait for
[ "$stuck" -eq 0 ] || die "$stuck worker sessions were stuck past the end, beyond every cancel and termination"
# the kinds of hold whose holders saw a violation, one a line
seen=$(psql_q -c "SELECT DISTINCT holding FROM torture.violations ORDER BY 1")
psql_q -c "DROP SCHEMA torture CASCADE" >/dev/null 2>&1
rm -rf "$logdir"

if [ "$broken" = true ]; then
	[ "$violations" -gt 0 ] || die "self-check: broken exclusion went unnoticed"
	if [ "$leases" = true ]; then
		for holding in lock lease permits; do
			grep -qx "$holding" <<<"$seen" || die "self-check: broken exclusion of a $holding went unnoticed"
		done
	fi
	say "self-check passed: the detector saw $violations violations, reported by holders of: $(echo $seen)"
	exit 0
fi
[ "$acquisitions" -gt 0 ] || die "no lock was ever acquired"
if [ "$leases" = true ]; then
	[ "$lease_count" -gt 0 ] || die "no lease was ever acquired"
	[ "$permit_count" -gt 0 ] || die "no semaphore permit was ever acquired"
fi
[ "$timeouts" -gt 0 ] || die "no attempt ever gave up, so refusals went untested"
[ "$kills" -gt 0 ] || die "no worker was ever terminated, so session ends went untested"
[ -z "$unexpected" ] || die "some sessions failed unexpectedly"
[ "$violations" -eq 0 ] || die "mutual exclusion was violated"
[ "$held_after_false" -eq 0 ] || die "a lock call answered false while the session held a lock"
[ "$leftover" -eq 0 ] || die "advisory locks were left behind"
[ "$leftover_leases" -eq 0 ] || die "leases or permits were left behind"
say "torture passed"
