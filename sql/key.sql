--
-- The key contract: named_lock_key(name) is the first 8 bytes of SHA-256
-- over the UTF-8 bytes of name, read big-endian as a signed bigint.
--

-- documented vectors
SELECT named_lock_key('import') AS import, named_lock_key('analysis') AS analysis;

-- more pinned values: ASCII, non-ASCII, around the 64-byte SHA-256 block,
-- longer than one block, and the longest accepted name (1 MiB)
SELECT name_label, octet_length(convert_to(name, 'UTF8')) AS bytes, named_lock_key(name)
FROM (VALUES
	('a', 'a'),
	('über-straße', 'über-straße'),
	('lock (CJK)', '锁'),
	('emoji', '🔒 deploy'),
	('64 x', repeat('x', 64)),
	('65 x', repeat('x', 65)),
	('job + 200 digits', 'job:' || repeat('0123456789', 20)),
	('1 MiB of a', repeat('a', 1048576))
) AS v(name_label, name);

-- the plain-SQL recipe from the README agrees for all of them
SELECT count(*) AS names,
	   count(*) FILTER (WHERE named_lock_key(name) =
			('x' || left(encode(sha256(convert_to(name, 'UTF8')), 'hex'), 16))::bit(64)::bigint) AS agree
FROM (SELECT 'name-' || g FROM generate_series(1, 1000) g
	  UNION ALL SELECT repeat('€', g) FROM generate_series(1, 100) g
	  UNION ALL VALUES ('import'), ('analysis'), (repeat('y', 100000))) AS v(name);

-- names are bytes: case, spaces and Unicode normalization all matter
SELECT named_lock_key('Import') = named_lock_key('import') AS case_folded,
	   named_lock_key('import ') = named_lock_key('import') AS trailing_space_ignored,
	   named_lock_key(U&'\00E9') = named_lock_key(U&'e\0301') AS normalized;

-- a NULL name has no key (the lock functions, unlike this one, reject it)
SELECT named_lock_key(NULL) IS NULL AS null_key;

-- labels of every function: the key is a pure function; the lock functions
-- run in the leader, which owns the locks, and the timed ones, which may
-- start a subtransaction, not in parallel mode at all; holders and is_held
-- read only shared state
SELECT p.proname, oidvectortypes(p.proargtypes) AS args, p.prorettype::regtype,
	   p.provolatile, p.proparallel, p.proisstrict
FROM pg_proc p
JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'advlock_named'
ORDER BY 1, 2;
