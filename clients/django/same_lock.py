"""Django code that locks the django-pglocks way and SQL that locks with
advlock_named take the same lock, checked in both directions.

Run with DJANGO_SETTINGS_MODULE=project.settings and the libpq environment.
"""
import os
import sys

import django
import psycopg2
from django.db import connection

from pglocks_key import pglocks_key

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from named_lock import named_lock  # noqa: E402  (clients/python)

django.setup()


def django_sql(sql, *args):
    # django-pglocks runs its SELECTs on a cursor of the Django connection.
    with connection.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


other = psycopg2.connect("")   # code already moved to advlock_named
other.autocommit = True


def other_sql(sql, *args):
    with other.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


for name in ("import", "über-straße", "🔒 deploy"):
    key = pglocks_key(name)
    assert key == django_sql("SELECT named_lock_key(%s)", name), name

    # Django holds it the way django-pglocks' advisory_lock(name) does ...
    django_sql("SELECT pg_advisory_lock(%s)", key)
    assert other_sql("SELECT named_try_lock_exclusive(%s)", name) is False
    assert other_sql("SELECT named_try_lock_shared(%s)", name) is False
    assert django_sql("SELECT pg_advisory_unlock(%s)", key) is True
    assert other_sql("SELECT named_try_lock_exclusive(%s)", name) is True

    # ... and the other way round.
    assert django_sql("SELECT pg_try_advisory_lock(%s)", key) is False
    assert other_sql("SELECT named_unlock_exclusive(%s)", name) is True

    # advisory_lock(name, shared=True) next to named shared and exclusive locks.
    django_sql("SELECT pg_advisory_lock_shared(%s)", key)
    assert other_sql("SELECT named_try_lock_shared(%s)", name) is True
    assert other_sql("SELECT named_try_lock_exclusive(%s)", name) is False
    assert other_sql("SELECT named_unlock_shared(%s)", name) is True
    assert django_sql("SELECT pg_advisory_unlock_shared(%s)", key) is True

# A call site moved to advlock_named, on the Django connection, still
# excludes the call sites that use django-pglocks.
with named_lock(connection, "import"):
    assert other_sql("SELECT pg_try_advisory_lock(%s)", pglocks_key("import")) is False
assert other_sql("SELECT pg_try_advisory_lock(%s)", pglocks_key("import")) is True
assert other_sql("SELECT pg_advisory_unlock(%s)", pglocks_key("import")) is True

print("django-pglocks lock ids and advlock_named names take the same locks")
