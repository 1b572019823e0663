#!/usr/bin/python3
"""A failed statement never leaves a session lock behind, through the
extended query protocol (psycopg 3 sends every query as Parse/Bind/Execute).

The statement is one Execute message: an Execute that fails gives back what
it took; one that completed keeps its holds even when a later Execute of the
same pipeline (before one Sync) fails and rolls their transaction back.

Connects with the usual PG* environment variables; exits 1 on a failed
check, 77 without psycopg 3.
"""
import sys

try:
    import psycopg
except ImportError:
    print("skipped: needs psycopg 3 (Debian: python3-psycopg)")
    sys.exit(77)

FAIL = "SELECT 1 / (random() > 2)::int"    # fails when it runs, not when planned


def held(conn):
    return sorted(row[0] for row in conn.execute("SELECT name FROM named_locks()").fetchall())


def expect(label, got, want):
    if got != want:
        print("FAILED %s: named_locks() has %s, expected %s" % (label, got, want))
        sys.exit(1)
    print("ok %s" % label)


with psycopg.connect(autocommit=True) as conn:
    conn.execute("CREATE EXTENSION IF NOT EXISTS advlock_named")

    # one Execute that takes a lock and then fails
    try:
        conn.execute("SELECT named_lock_exclusive(%s), 1 / (random() > 2)::int", ["one-execute"])
    except psycopg.errors.DivisionByZero:
        pass
    expect("a failing Execute gives back what it took", held(conn), [])

    # a statement timeout after the grant, in the same Execute
    conn.execute("SET statement_timeout = '100ms'")
    try:
        conn.execute("SELECT named_lock_shared(%s), pg_sleep(1)", ["timeout"])
    except psycopg.errors.QueryCanceled:
        pass
    conn.execute("RESET statement_timeout")
    expect("a statement timeout after the grant gives it back", held(conn), [])

    # a pipeline: Execute, Execute, ... Sync; the second one fails
    try:
        with conn.pipeline():
            conn.execute("SELECT named_lock_exclusive(%s)", ["pipeline-first"])
            conn.execute("SELECT named_lock_exclusive(%s), 1 / (random() > 2)::int", ["pipeline-second"])
            conn.execute("SELECT named_lock_exclusive(%s)", ["pipeline-skipped"])
    except psycopg.errors.DivisionByZero:
        pass
    expect("in a pipeline, a completed Execute keeps its hold, the failed one does not",
           held(conn), ["pipeline-first"])
    conn.execute("SELECT named_unlock_all()")

    # the same in an explicit transaction: the completed statement's hold
    # survives the rollback, as a session lock does
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT named_lock_exclusive(%s)", ["in-transaction"])
        try:
            with conn.transaction():
                conn.execute("SELECT named_lock_exclusive(%s), 1 / (random() > 2)::int", ["in-savepoint"])
        except psycopg.errors.DivisionByZero:
            pass
    expect("a statement failing in a savepoint gives back only its own", held(conn), ["in-transaction"])
    conn.execute("SELECT named_unlock_all()")

    # a server-side prepared statement, executed twice: each Execute is a statement
    conn.execute("PREPARE lock_then(text, int) AS SELECT named_lock_exclusive($1), 1 / $2")
    conn.execute("EXECUTE lock_then('prepared-ok', 1)")
    try:
        conn.execute("EXECUTE lock_then('prepared-fails', 0)")
    except psycopg.errors.DivisionByZero:
        pass
    expect("a prepared statement's failing execution gives back its own", held(conn), ["prepared-ok"])
    conn.execute("SELECT named_unlock_all()")

print("the extended protocol: a failed statement leaves no lock behind")
