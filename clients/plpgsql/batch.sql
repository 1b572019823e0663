-- A queue processed in batches, one transaction per batch, by one session at
-- a time.  The session lock survives each COMMIT, so no second run can start
-- between two batches; a second run that finds it taken leaves at once.
CREATE TABLE import_queue (
	id bigint PRIMARY KEY,
	done_at timestamptz
);

CREATE PROCEDURE process_import_queue(batch_size integer DEFAULT 1000)
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	IF NOT named_try_lock_exclusive('import-queue') THEN
		RAISE NOTICE 'the import queue is being processed by another session';
		RETURN;
	END IF;
	LOOP
		UPDATE import_queue SET done_at = clock_timestamp()
		WHERE id IN (SELECT id FROM import_queue WHERE done_at IS NULL
					 ORDER BY id LIMIT batch_size);
		GET DIAGNOSTICS n = ROW_COUNT;
		EXIT WHEN n = 0;
		COMMIT;		-- this batch is done for good; the session lock stays
	END LOOP;
	PERFORM named_unlock_exclusive('import-queue');
END
$$;
