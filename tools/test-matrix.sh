#!/usr/bin/env bash
# make test-matrix: build advlock_named and run its regression, isolation and
# TAP suites and the torture test against every PostgreSQL major in MAJORS
# (default "15 17 18"), one result line per version.  The regression and
# isolation suites run twice: without and with shared_preload_libraries.
# tools/pg_majors.sh says where each major's server and headers come from.
# The unit tests of the C++ core need no server and run in `make test` only.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

MAJORS=${MAJORS:-"15 17 18"}
. tools/pg_majors.sh

# Builds in a private copy, installs, runs regress, isolation, TAP and the
# torture test, and leaves one line in $RESULT.
run_major() {
	local major=$1 tree passed=0 failed=0 version suite log suite_passed suite_failed rc
	PG_CONFIG=$(pg_config_for "$major")
	version=$("$PG_CONFIG" --version)
	RESULT="$version: build failed"
	make_workdir
	tree=$WORKDIR/tree
	as_cluster_user mkdir "$tree"
	tar --exclude=.git -cf - . | as_cluster_user tar -xf - -C "$tree"
	make -s -C "$tree" clean PG_CONFIG="$PG_CONFIG" >/dev/null
	if ! as_cluster_user make -s -C "$tree" PG_CONFIG="$PG_CONFIG" >"$WORKDIR/build.log" 2>&1; then
		cat "$WORKDIR/build.log"
		return 1
	fi
	if grep -q 'warning:' "$WORKDIR/build.log"; then
		cat "$WORKDIR/build.log"
		RESULT="$version: the build has warnings"
		return 1
	fi
	make -s -C "$tree" PG_CONFIG="$PG_CONFIG" install >/dev/null

	cluster_start
	# Without preloading, 15 has no name directory and skips the specs that
	# need it; 17 and later create it in a DSM segment.  Then everything
	# again with shared_preload_libraries.
	isolation_unloaded=($(isolation_without_preloading))
	for suite in regress isolation regress-preloaded isolation-preloaded; do
		log=$WORKDIR/$suite.log
		case $suite in
			regress) set -- ISOLATION= ;;
			isolation) set -- REGRESS= "${isolation_unloaded[@]}" ;;
			regress-preloaded)
				cluster_restart "-c shared_preload_libraries=advlock_named"
				set -- ISOLATION= ;;
			isolation-preloaded) set -- REGRESS= ;;
		esac
		say "$suite"
		rm -f "$tree/regression.diffs" "$tree/output_iso/regression.diffs"
		# the test drivers need their own major's libpq
		as_cluster_user env LD_LIBRARY_PATH="$("$PG_CONFIG" --libdir)" \
			make -s -C "$tree" PG_CONFIG="$PG_CONFIG" installcheck TAP_TESTS= "$@" >"$log" 2>&1 || true
		grep -E '\.\.\. |^(ok|not ok) ' "$log" || tail -n 20 "$log"
		read -r suite_passed suite_failed <<<"$(count_pg_regress_results "$log")"
		passed=$((passed + suite_passed))
		failed=$((failed + suite_failed))
		[ "$suite_failed" -eq 0 ] ||
			cat "$tree"/regression.diffs "$tree"/output_iso/regression.diffs 2>/dev/null | head -n 100 || true
	done
	read -r suite_passed suite_failed _ <<<"$(run_tap_tests "$tree")"
	passed=$((passed + suite_passed))
	failed=$((failed + suite_failed))
	if test/torture.sh --workers 4 --seconds 10 >"$WORKDIR/torture.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
	grep -vE '^ *[0-9]+ \|' "$WORKDIR/torture.log" | tail -n 20
	rc=0
	test/differential.py --seconds 10 >"$WORKDIR/differential.log" 2>&1 || rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) ;;	# no psycopg: said in the log
	*) failed=$((failed + 1)) ;;
	esac
	tail -n 25 "$WORKDIR/differential.log"
	rc=0
	test/failed_statement_protocol.py >"$WORKDIR/protocol.log" 2>&1 || rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) ;;	# no psycopg: said in the log
	*) failed=$((failed + 1)) ;;
	esac
	tail -n 10 "$WORKDIR/protocol.log"
	cluster_stop
	RESULT="$version: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

trap cleanup EXIT
ensure_matrix_prerequisites
mkdir -p "$MATRIX_CACHE"
chmod 755 "$MATRIX_CACHE"

status=0
results=()
for major in $MAJORS; do
	say "PostgreSQL $major"
	run_major "$major" || status=1
	results+=("$RESULT")
	cleanup
	OWN_WORKDIR=
done

say "matrix"
printf '%s\n' "${results[@]}"
exit $status
