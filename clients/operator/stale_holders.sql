-- Sessions holding an advisory lock (named or not) that another session of
-- this database has waited on for longer than :min_wait, with what the
-- holder is doing and since when.  A holder "idle" for long while others
-- wait is likely a client that is gone or stuck.
--
--   psql -v min_wait='5 minutes' -f stale_holders.sql
--
-- key is the lock's key: compare it with named_lock_key('some-name').
SELECT holder.pid,
	   holder.usename,
	   holder.application_name,
	   holder.client_addr,
	   holder.state,
	   now() - holder.state_change AS in_state_for,
	   waiter.key,
	   count(*) AS waiters,
	   max(now() - waiter.waitstart) AS longest_wait
FROM (
	SELECT pid, waitstart, classid::bigint << 32 | objid::bigint AS key
	FROM pg_locks
	WHERE locktype = 'advisory' AND objsubid = 1 AND NOT granted
	  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND now() - waitstart > :'min_wait'::interval
) waiter
CROSS JOIN LATERAL unnest(pg_blocking_pids(waiter.pid)) AS blocker(pid)
JOIN pg_stat_activity holder ON holder.pid = blocker.pid
-- pg_blocking_pids also names waiters queued ahead; keep the holders
WHERE EXISTS (
	SELECT FROM pg_locks held
	WHERE held.pid = blocker.pid AND held.granted
	  AND held.locktype = 'advisory' AND held.objsubid = 1
	  AND held.database = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND (held.classid::bigint << 32 | held.objid::bigint) = waiter.key
)
GROUP BY holder.pid, holder.usename, holder.application_name, holder.client_addr,
		 holder.state, holder.state_change, waiter.key
ORDER BY longest_wait DESC;
