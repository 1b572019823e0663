--
-- ALTER EXTENSION ... UPDATE from every released version gives what a fresh
-- install of the newest version gives.
--
-- Privileges count too: 1.2 forgot to grant its view.
CREATE FUNCTION extension_objects() RETURNS TABLE (object text, definition text, comment text, privileges text)
LANGUAGE sql AS $$
	SELECT pg_describe_object(d.classid, d.objid, d.objsubid),
		   coalesce(pg_get_functiondef(p.oid), pg_get_viewdef(d.objid)::text, ''),
		   coalesce(obj_description(p.oid, 'pg_proc'), obj_description(d.objid, 'pg_class')),
		   coalesce(p.proacl::text, c.relacl::text, '')
	FROM pg_depend d
	JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'advlock_named'
	LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
	LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
	WHERE d.deptype = 'e'
$$;

SELECT extversion FROM pg_extension WHERE extname = 'advlock_named';
CREATE TEMP TABLE fresh AS SELECT * FROM extension_objects();
SELECT count(*) FILTER (WHERE object LIKE 'function %') AS functions,
	   count(*) FILTER (WHERE object LIKE 'view %') AS views
FROM fresh;

-- Installs from_version, updates to the default one, and reports every
-- object that differs from a fresh install.
CREATE FUNCTION upgrade_differences(from_version text) RETURNS TABLE (object text, difference text)
LANGUAGE plpgsql AS $$
BEGIN
	DROP EXTENSION advlock_named;
	EXECUTE format('CREATE EXTENSION advlock_named VERSION %L', from_version);
	ALTER EXTENSION advlock_named UPDATE;
	RETURN QUERY
		(SELECT m.object, 'only in a fresh install' FROM
			(SELECT * FROM fresh EXCEPT SELECT * FROM extension_objects()) AS m)
		UNION ALL
		(SELECT x.object, 'only after the update' FROM
			(SELECT * FROM extension_objects() EXCEPT SELECT * FROM fresh) AS x);
END
$$;

SELECT * FROM upgrade_differences('1.0');
SELECT * FROM upgrade_differences('1.1');
SELECT * FROM upgrade_differences('1.2');
SELECT * FROM upgrade_differences('1.3');

-- a lock held across an update stays held and registered
DROP EXTENSION advlock_named;
CREATE EXTENSION advlock_named VERSION '1.0';
SELECT named_lock_shared('upgrade');
ALTER EXTENSION advlock_named UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'advlock_named';
SELECT name, mode, holds FROM named_locks();
SELECT named_lock_shared(ARRAY['upgrade'], '1s') AS newest_form_after_update, named_unlock_all();

DROP FUNCTION upgrade_differences(text);
DROP TABLE fresh;
DROP FUNCTION extension_objects();

-- every version can be installed directly
SELECT version FROM pg_available_extension_versions WHERE name = 'advlock_named' ORDER BY 1;
