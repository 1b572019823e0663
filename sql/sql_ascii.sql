--
-- A SQL_ASCII database declares no encoding, so its names are hashed as the
-- bytes they are: UTF-8 text gets the same key as everywhere, and bytes
-- that are not UTF-8 still name a lock.
--
\set regress_database :DBNAME
CREATE DATABASE advlock_named_sql_ascii
	TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C';
\c advlock_named_sql_ascii
CREATE EXTENSION advlock_named;

-- the documented vector for 'über-straße', given as its UTF-8 bytes
SELECT named_lock_key(convert_from('\xc3bc6265722d73747261c39f65', 'SQL_ASCII')) AS uber_strasse_key;

-- a byte that is not UTF-8: its key is the SHA-256 of that byte
SELECT named_lock_key(convert_from('\xff', 'SQL_ASCII')) =
	   ('x' || left(encode(sha256('\xff'::bytea), 'hex'), 16))::bit(64)::bigint AS raw_byte_key;
SELECT named_try_lock_exclusive(convert_from('\xff', 'SQL_ASCII')) AS locked;
SELECT encode(convert_to(name, 'SQL_ASCII'), 'hex') AS name_bytes, mode, scope FROM named_locks();
SELECT named_unlock_exclusive(convert_from('\xff', 'SQL_ASCII')) AS unlocked;

\c :regress_database
DROP DATABASE advlock_named_sql_ascii;
