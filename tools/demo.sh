#!/usr/bin/env bash
# make demo: the importer/analysis story, live on a throwaway cluster.
#
# Three importers hold the shared lock on "import"; an analysis job asks
# for the exclusive lock and waits for them; a late importer arrives while
# the analysis job waits and queues behind it.  Every job logs what happens
# to it; the demo shows the lock queue by name from another session
# (named_lock_activity), then the merged timeline and the per-name
# statistics.  The server preloads the library, which the name directory
# needs on PostgreSQL 15.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh
trap cleanup EXIT

ensure_prerequisites
build_and_install
make_workdir
CLUSTER_OPTIONS="-c shared_preload_libraries=advlock_named"
cluster_start
say "server $("$PG_CONFIG" --version) on socket $PGHOST, port $PGPORT"


psql_q <<'SQL'
CREATE EXTENSION advlock_named;
CREATE TABLE timeline (at timestamptz NOT NULL DEFAULT clock_timestamp(), job text, event text);
CREATE FUNCTION log_event(job text, event text) RETURNS void
LANGUAGE sql AS $$ INSERT INTO timeline (job, event) VALUES (job, event) $$;
SQL

# job NAME MODE SECONDS: take the lock on "import", work, release it.
job() {
	local name=$1 mode=$2 seconds=$3
	PGAPPNAME=$name psql_q >/dev/null <<SQL
SELECT log_event('$name', 'asks for the $mode lock');
SELECT named_lock_$mode('import');
SELECT log_event('$name', 'got the $mode lock, works for ${seconds}s');
SELECT pg_sleep($seconds);
SELECT log_event('$name', 'done, releases the $mode lock');
SELECT named_unlock_$mode('import');
SQL
}

pids=()
say "three importers start"
job importer-1 shared 1 & pids+=($!)
job importer-2 shared 2 & pids+=($!)
job importer-3 shared 3 & pids+=($!)
wait_until "$(lock_requests import true)" 3 "three granted shared locks"

say "the analysis job asks for the exclusive lock"
job analysis exclusive 1 & pids+=($!)
wait_until "$(lock_requests import false)" 1 "a queued exclusive request"

say "a late importer arrives while the analysis job waits"
job importer-4 shared 1 & pids+=($!)
wait_until "$(lock_requests import false)" 2 "two queued requests"

say "the lock queue right now, by name, as any other session sees it (named_lock_activity):"
psql -X -v ON_ERROR_STOP=1 -c "
	SELECT a.name, a.application_name AS job, a.mode, a.granted,
		   to_char(now() - a.wait_start, 'SS.MS') AS \"waiting (s)\",
		   ARRAY(SELECT b.application_name FROM pg_stat_activity b
				 WHERE b.pid = ANY (a.blocked_by) ORDER BY 1) AS blocked_by
	FROM named_lock_activity a
	ORDER BY a.name, a.granted DESC, a.wait_start, a.application_name"

for pid in "${pids[@]}"; do wait "$pid"; done

say "timeline"
psql -X -v ON_ERROR_STOP=1 -c "
	SELECT to_char(at - min(at) OVER (), 'SS.MS') AS \"t (s)\", job, event
	FROM timeline ORDER BY at"

say "per-name statistics (named_lock_stats)"
psql -X -v ON_ERROR_STOP=1 -c "
	SELECT name, acquisitions, waited_acquisitions AS waited, round(total_wait_ms) AS total_wait_ms,
		   round(max_wait_ms) AS max_wait_ms, timeouts, failed_tries, deadlocks
	FROM named_lock_stats WHERE database = current_database() ORDER BY name"

# The point of the story, checked rather than just shown.
verdict=$(psql_q -c "
	SELECT (SELECT max(at) FROM timeline WHERE job LIKE 'importer-_' AND job <> 'importer-4'
			AND event LIKE 'done%')
		   < (SELECT at FROM timeline WHERE job = 'analysis' AND event LIKE 'got%')
	   AND (SELECT at FROM timeline WHERE job = 'analysis' AND event LIKE 'done%')
		   < (SELECT at FROM timeline WHERE job = 'importer-4' AND event LIKE 'got%')")
if [ "$verdict" = t ]; then
	say "the analysis job ran alone, after the importers that were running, and before the late one"
else
	die "the timeline does not show the expected order"
fi
