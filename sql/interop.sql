--
-- Installation and databases: trusted install, per-database locks, and keys
-- that do not depend on the database encoding.
--

\set regress_db :DBNAME
\set regress_user :USER

-- locks are per database: the tag carries this database's OID
SELECT named_lock_exclusive('here');
SELECT database = (SELECT oid FROM pg_database WHERE datname = current_database()) AS this_database
FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
SELECT named_unlock_all();

-- a LATIN1 database hashes the UTF-8 form of a name, so keys agree
CREATE DATABASE advlock_named_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c advlock_named_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION advlock_named;
SELECT current_setting('server_encoding') AS server_encoding,
	   named_lock_key('über-straße') AS latin1_key, octet_length('über-straße') AS latin1_bytes;
SELECT named_lock_exclusive('über-straße');
SELECT name, key FROM named_locks();
\c :regress_db :regress_user
SELECT current_setting('server_encoding') AS server_encoding,
	   named_lock_key('über-straße') AS utf8_key, octet_length('über-straße') AS utf8_bytes;
DROP DATABASE advlock_named_latin1;

-- trusted: a database owner without superuser can install and use it
CREATE ROLE regress_advlock_named_owner LOGIN;
CREATE DATABASE advlock_named_trusted OWNER regress_advlock_named_owner;
\c advlock_named_trusted regress_advlock_named_owner
SELECT rolsuper FROM pg_roles WHERE rolname = current_user;
CREATE EXTENSION advlock_named;
SELECT named_try_lock_exclusive('owned'), named_unlock_exclusive('owned');
\c :regress_db :regress_user
DROP DATABASE advlock_named_trusted;
DROP ROLE regress_advlock_named_owner;

-- and the extension can be dropped and recreated in place
DROP EXTENSION advlock_named;
CREATE EXTENSION advlock_named;
SELECT extversion FROM pg_extension WHERE extname = 'advlock_named';
