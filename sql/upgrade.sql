--
-- ALTER EXTENSION ... UPDATE from every released version gives what a fresh
-- install of the newest version gives.
--
CREATE FUNCTION extension_objects() RETURNS TABLE (object text, definition text, comment text)
LANGUAGE sql AS $$
	SELECT pg_describe_object(d.classid, d.objid, d.objsubid),
		   coalesce(pg_get_functiondef(p.oid), ''),
		   obj_description(p.oid, 'pg_proc')
	FROM pg_depend d
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'advlock_named'
	LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
	WHERE d.deptype = 'e'
$$;

SELECT extversion FROM pg_extension WHERE extname = 'advlock_named';
CREATE TEMP TABLE fresh AS SELECT * FROM extension_objects();

-- from 1.0
DROP EXTENSION advlock_named;
CREATE EXTENSION advlock_named VERSION '1.0';
SELECT count(*) AS objects_in_1_0 FROM extension_objects();
-- a lock held across the update stays held and registered
SELECT named_lock_shared('upgrade');
ALTER EXTENSION advlock_named UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'advlock_named';
SELECT name, mode, holds FROM named_locks();
SELECT named_lock_shared('upgrade', '1s') AS timed_after_update, named_unlock_all();

-- the same objects, definitions and comments as a fresh install
(SELECT object, 'only in a fresh install' AS difference FROM
	(SELECT * FROM fresh EXCEPT SELECT * FROM extension_objects()) AS missing)
UNION ALL
(SELECT object, 'only after the update' FROM
	(SELECT * FROM extension_objects() EXCEPT SELECT * FROM fresh) AS extra);
SELECT count(*) AS objects FROM fresh;

DROP TABLE fresh;
DROP FUNCTION extension_objects();

-- both versions are installable
SELECT version FROM pg_available_extension_versions WHERE name = 'advlock_named' ORDER BY 1;
