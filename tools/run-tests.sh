#!/usr/bin/env bash
# make test: build, install, start a throwaway cluster, run the unit tests,
# a check that the hand mutations still apply to the source, the
# pg_regress suite, the isolation specs, the TAP tests, the regression
# and isolation suites again with the library preloaded, the documentation
# checks (tools/check-docs.py, tools/doc-figures.py), a short torture
# test, the differential check against the lock manager
# (DIFFERENTIAL_SECONDS, default 20), failed statements through the extended
# protocol, the client recipes, PgBouncer and the
# distribution, stop the cluster, test the Debian package, and finish with
# one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh
trap cleanup EXIT

ensure_prerequisites
ensure_client_prerequisites
build_and_install
make_workdir

# The suites write results next to their inputs, so they run in a copy the
# cluster user owns.
tree="$WORKDIR/tree"
as_cluster_user mkdir "$tree"
tar --exclude=.git -cf - . | as_cluster_user tar -xf - -C "$tree"

passed=0
failed=0
skipped=()
count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# A script that is one test; exit status 77 means skipped, and its output
# says why.
run_check() {	# label command...
	local label=$1 log="$WORKDIR/$1.log" rc=0
	shift
	say "$label"
	"$@" >"$log" 2>&1 || rc=$?
	case $rc in
	0) count 1 0 ;;
	77) skipped+=("$label") ;;
	*) count 0 1 ;;
	esac
	tail -n 30 "$log"
}

say "unit tests of the C++ core"
unit_log="$WORKDIR/unit.log"
make -s unit-test >"$unit_log" 2>&1 || true
grep -E '^\[ +(OK|FAILED|PASSED) +\]' "$unit_log" || cat "$unit_log"
count "$(grep -cE '^\[ +OK \]' "$unit_log" || true)" \
	"$(grep -cE '^\[  FAILED  \] .*\([0-9]+ ms\)$' "$unit_log" || true)"
# a build failure prints neither
grep -qE '^\[  (PASSED|FAILED)  \]' "$unit_log" || count 0 1

run_check release-metadata tools/check-release-metadata.sh
run_check mutation-records tools/mutation-test.sh --check

cluster_start
say "server $("$PG_CONFIG" --version) on socket $PGHOST, port $PGPORT"

# One suite per make call, so a failure in one does not hide the others.
run_suite() {
	local label=$1 log="$WORKDIR/$1.log"
	shift
	say "$label"
	rm -f "$tree/regression.diffs" "$tree/output_iso/regression.diffs"
	if as_cluster_user make -s -C "$tree" PG_CONFIG="$PG_CONFIG" installcheck "$@" >"$log" 2>&1; then
		status=ok
	else
		status=failed
	fi
	grep -E '^(ok|not ok) |\.\.\. |^t/.*\.pl \.\.|^# |All tests|Result:' "$log" || cat "$log"
	# kept per run: the preloaded pass writes to the same places
	for diffs in "$tree/regression.diffs" "$tree/output_iso/regression.diffs"; do
		[ -f "$diffs" ] && cp "$diffs" "$WORKDIR/$label.diffs"
	done
	return 0
}

count_regress() {
	local suite_passed suite_failed
	read -r suite_passed suite_failed <<<"$(count_pg_regress_results "$WORKDIR/$1.log")"
	# a failed run whose log names no failing test (a crash, say) counts once
	if [ "$status" != ok ] && [ "$suite_failed" -eq 0 ]; then
		suite_failed=1
	fi
	count "$suite_passed" "$suite_failed"
}

# The name directory needs shared_preload_libraries on 15 and nothing on 17
# and later, so without preloading 15 runs the specs that need it only in
# the preloaded pass (sql/directory.sql checks the error instead).
isolation_unloaded=($(isolation_without_preloading))

run_suite regress ISOLATION= TAP_TESTS=
count_regress regress

run_suite isolation REGRESS= TAP_TESTS= "${isolation_unloaded[@]}"
count_regress isolation

run_suite tap REGRESS= ISOLATION=
read -r tap_passed tap_failed tap_skipped <<<"$(count_tap_results "$WORKDIR/tap.log" "$status")"
count "$tap_passed" "$tap_failed"
[ "$tap_skipped" -eq 0 ] || skipped+=("tap-files:$tap_skipped")
tap_status=$status

# The same regression and isolation suites with the library preloaded.
cluster_restart "-c shared_preload_libraries=advlock_named"
say "restarted with shared_preload_libraries = advlock_named"

run_suite regress-preloaded ISOLATION= TAP_TESTS=
count_regress regress-preloaded

run_suite isolation-preloaded REGRESS= TAP_TESTS=
count_regress isolation-preloaded

# The documentation against the extension on this (preloaded) server: links,
# every function, view and setting in the reference, the figures that code
# produces; and proof that the checker catches what it is for.
run_check docs tools/check-docs.py
run_check docs-self-check tools/check-docs.py --self-check
run_check doc-figures tools/doc-figures.py

# A small run of the torture test, and proof that its detector detects.
run_torture() {
	local label=$1 log="$WORKDIR/$1.log"
	shift
	say "$label"
	if test/torture.sh "$@" >"$log" 2>&1; then
		count 1 0
	else
		count 0 1
	fi
	grep -vE '^ *[0-9]+ \|' "$log" | tail -n 20
}
run_torture torture --workers 4 --seconds 15
run_torture torture-self-check --workers 2 --seconds 3 --self-check

# named_locks(), refusals and the cap against pg_locks after every random step
run_check differential test/differential.py --seconds "${DIFFERENTIAL_SECONDS:-20}"
# a failed statement through the extended protocol (psql speaks only the simple one)
run_check failed-statement-protocol test/failed_statement_protocol.py

for client in python-psycopg python-psycopg2 python-lease python-semaphore django node plpgsql \
	stale-holders; do
	run_check "client-$client" tools/test-client.sh "$client"
done
run_check pgbouncer tools/test-pgbouncer.sh
# The distribution installs the committed tree; the work tree goes back after.
run_check dist tools/test-dist.sh
build_and_install

cluster_stop
# The package goes into the system's tree, with a server of its own.
run_check deb tools/test-deb.sh

if [ "$failed" -gt 0 ]; then
	KEEP_WORKDIR=1
	for diffs in "$WORKDIR"/*.diffs; do
		[ -f "$diffs" ] && { say "$diffs"; head -n 200 "$diffs"; }
	done
	[ "$tap_status" = ok ] || { say "TAP logs"; tail -n 60 "$WORKDIR/tap.log"; }
	say "logs kept in $WORKDIR"
fi
[ "${#skipped[@]}" -eq 0 ] || say "skipped (see above why): ${skipped[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
