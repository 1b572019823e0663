#!/usr/bin/env bash
# One client recipe from clients/, run against the running throwaway cluster
# (PGHOST/PGPORT) in a database of its own that has the extension.
#
#   tools/test-client.sh python-psycopg|python-psycopg2|python-lease|python-semaphore|django|node|plpgsql|stale-holders
#
# The lease and semaphore recipes need the lease table: on PostgreSQL 15 and
# 16 a server with shared_preload_libraries = advlock_named (make test's
# preloaded pass).
#
# Exit 77: the client's driver is not installed, so it was skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

PYTHON=/usr/bin/python3		# Debian's python3-* packages are for this one
export PYTHONPATH=$PWD/clients	# clients/checks.py
skip() { echo "skipped: needs $1 (apt-get install $1)"; exit 77; }
python_module() { "$PYTHON" -c "import $1" 2>/dev/null || skip "$2"; }

case ${1:-} in
python-psycopg)
	python_module psycopg python3-psycopg
	run() { "$PYTHON" clients/python/importers.py psycopg; } ;;
python-psycopg2)
	python_module psycopg2 python3-psycopg2
	run() { "$PYTHON" clients/python/importers.py psycopg2; } ;;
python-lease)
	python_module psycopg python3-psycopg
	run() { "$PYTHON" clients/python/leased_work.py; } ;;
python-semaphore)
	python_module psycopg python3-psycopg
	run() { "$PYTHON" clients/python/job_slots.py; } ;;
django)
	python_module django python3-django
	python_module psycopg2 python3-psycopg2
	run() { (cd clients/django && DJANGO_SETTINGS_MODULE=project.settings "$PYTHON" same_lock.py); } ;;
node)
	command -v node >/dev/null 2>&1 || skip nodejs
	if [ ! -d clients/node/node_modules/pg ]; then
		command -v npm >/dev/null 2>&1 || skip npm
		say "npm install (pg, as pinned in clients/node/package-lock.json)"
		(cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
	fi
	run() { node clients/node/locks.js; } ;;
plpgsql)
	python_module psycopg python3-psycopg
	run() { "$PYTHON" clients/plpgsql/check.py; } ;;
stale-holders)
	python_module psycopg python3-psycopg
	run() { "$PYTHON" clients/operator/check_stale_holders.py; } ;;
*)
	die "usage: $0 python-psycopg|python-psycopg2|python-lease|python-semaphore|django|node|plpgsql|stale-holders" ;;
esac

db=client_${1//-/_}
psql_q -c "CREATE DATABASE $db"
PGDATABASE=$db psql_q -c "CREATE EXTENSION advlock_named"
PGDATABASE=$db run
