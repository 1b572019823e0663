-- Rebuilds the daily report unless another transaction is rebuilding it.
-- The transaction lock ends with the caller's transaction, committed or not:
-- there is no unlock to forget, and nobody rebuilds a report that another
-- transaction has rebuilt but not yet committed.
CREATE TABLE daily_report (
	day date PRIMARY KEY,
	imported bigint NOT NULL
);

CREATE FUNCTION refresh_daily_report() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT named_try_xact_lock_exclusive('daily-report') THEN
		RETURN false;
	END IF;
	DELETE FROM daily_report;
	INSERT INTO daily_report
	SELECT done_at::date, count(*) FROM import_queue
	WHERE done_at IS NOT NULL GROUP BY 1;
	RETURN true;
END
$$;
