"""The smallest Django project that talks to PostgreSQL: the libpq environment
(PGHOST, PGPORT, PGDATABASE, PGUSER) says which server."""
import os

SECRET_KEY = "only-for-the-advlock_named-client-test"
USE_TZ = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PGDATABASE", "postgres"),
        "USER": os.environ.get("PGUSER", ""),
        "HOST": os.environ.get("PGHOST", ""),
        "PORT": os.environ.get("PGPORT", ""),
    }
}
