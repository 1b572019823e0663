#!/usr/bin/env bash
# make mutation-test: applies each hand mutation of test/mutations.txt to a
# copy of the tree, builds and installs it, and runs the suites on it.  Every
# mutation must make at least one of them fail; one that survives points at
# a test that cannot fail.
#
# The suites, in this order, stopping at the first that fails: the unit
# tests (once per mutation, and only for one of the core: they need no
# server and see nothing else), then, on each PostgreSQL major of MAJORS
# (default: $PG_CONFIG's; tools/pg_majors.sh gets the others, as make
# test-matrix does), pg_regress and the isolation specs on a server without
# the library preloaded (on 15, which then has no name directory, without
# the specs that need one), a short differential check, both suites again
# with it preloaded, and the TAP tests of the name directory and of
# leases.  The unmutated tree goes through the same suites first, and a
# failure there stops the run: a suite that fails whatever the tree would
# kill every mutation.  Prints the score per major, and
# reinstalls the unmutated build.  Takes about a minute per mutation and
# major.
#
# MUTATIONS names another file of records.  With --check it only checks
# that every record still applies to the source (its old text occurs
# exactly once), which make test does, so that a change to src/ cannot
# leave a record behind unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

MUTATIONS=${MUTATIONS:-test/mutations.txt}

# Prints the records as "name<TAB>file<TAB>old<TAB>new" lines.
records() {
	/usr/bin/python3 - "$1" <<'PY'
import sys
fields = {}
for line in open(sys.argv[1]).read().split("\n") + [""]:
    if line.startswith("#"):
        continue
    if not line.strip():
        if fields:
            print("\t".join(fields[k] for k in ("name", "file", "old", "new")))
        fields = {}
        continue
    key, _, value = line.partition(": ")
    fields[key] = value
PY
}

# Fails unless $3 occurs exactly once in file $2 under tree $1; given $4,
# replaces it with that.  In both, \n and \t stand for a newline and a tab.
mutate() {
	/usr/bin/python3 - "$@" <<'PY'
import sys
unescape = lambda s: s.replace("\\n", "\n").replace("\\t", "\t")
tree, path, old = sys.argv[1], sys.argv[2], unescape(sys.argv[3])
text = open(tree + "/" + path).read()
if text.count(old) != 1:
    sys.exit("%s: expected one occurrence of %r, found %d" % (path, old, text.count(old)))
if len(sys.argv) > 4:
    open(tree + "/" + path, "w").write(text.replace(old, unescape(sys.argv[4])))
PY
}

if [ "${1:-}" = --check ]; then
	count=0
	while IFS=$'\t' read -r name file old new; do
		mutate . "$file" "$old" || die "mutation '$name' no longer applies"
		count=$((count + 1))
	done < <(records "$MUTATIONS")
	echo "all $count mutation records apply"
	exit 0
fi

MAJORS=${MAJORS:-$(pg_major)}
. tools/pg_majors.sh

# The TAP tests of the name directory (real logins, encodings, concurrent
# publishing) and of leases (what they outlive, who may act on them, room).
MUTATION_TAP_TESTS="t/005_name_directory.pl t/006_name_privacy.pl t/007_name_encoding.pl t/008_lease_lifetimes.pl t/010_publish_stress.pl t/011_lease_owners_and_room.pl"

names=()
files=()
olds=()
news=()
while IFS=$'\t' read -r name file old new; do
	names+=("$name")
	files+=("$file")
	olds+=("$old")
	news+=("$new")
done < <(records "$MUTATIONS")

# Copies the work tree to $1 for the cluster user, with mutation $2 if given.
prepare_tree() {
	local tree=$1
	rm -rf "$tree"
	mkdir "$tree"
	copy_tree "$tree"
	if [ $# -gt 1 ]; then
		mutate "$tree" "${files[$2]}" "${olds[$2]}" "${news[$2]}" ||
			die "mutation '${names[$2]}' no longer applies"
	fi
	is_root && chown -R "$CLUSTER_USER" "$tree"
	return 0
}

build_and_install_tree() {
	as_cluster_user make -s -C "$1" PG_CONFIG="$PG_CONFIG" >"$WORKDIR/build.log" 2>&1 &&
		make -s -C "$1" PG_CONFIG="$PG_CONFIG" install >>"$WORKDIR/build.log" 2>&1 ||
		{ cat "$WORKDIR/build.log"; return 1; }
}

# Runs the server suites on the tree in $1, installed; fails when any of them fails.
suites_pass() {
	local tree=$1 log=$WORKDIR/suite.log passed=0 tap_passed tap_failed
	: >"$log"
	installcheck() {
		# the test drivers need their own major's libpq
		as_cluster_user env LD_LIBRARY_PATH="$("$PG_CONFIG" --libdir)" \
			make -s -C "$tree" PG_CONFIG="$PG_CONFIG" installcheck TAP_TESTS= "$@" >>"$log" 2>&1
	}
	# shellcheck disable=SC2046
	installcheck $(isolation_without_preloading) || return 1
	test/differential.py --seconds 10 >>"$log" 2>&1 || return 1
	cluster_restart "-c shared_preload_libraries=advlock_named"
	installcheck && passed=1
	cluster_restart ""
	[ "$passed" = 1 ] || return 1
	# shellcheck disable=SC2086
	read -r tap_passed tap_failed _ <<<"$(run_tap_tests "$tree" $MUTATION_TAP_TESTS 2>>"$log")"
	[ "$tap_failed" -eq 0 ]
}

restore() {
	# the unmutated build of the major being tested, if a mutant is installed
	[ -d "${WORKDIR:-}/tree" ] && make -s -C "$WORKDIR/tree" PG_CONFIG="$PG_CONFIG" install >/dev/null 2>&1
	cleanup
}
trap restore EXIT

ensure_matrix_prerequisites
mkdir -p "$MATRIX_CACHE"
chmod 755 "$MATRIX_CACHE"
make_workdir

say "unit tests"
prepare_tree "$WORKDIR/tree"
make -s -C "$WORKDIR/tree" unit-test >"$WORKDIR/unit.log" 2>&1 ||
	{ tail -n 30 "$WORKDIR/unit.log"; die "the unit tests fail on the unmutated tree"; }
unit_killed=()
for i in "${!names[@]}"; do
	unit_killed[i]=0
	case ${files[i]} in src/core/*) ;; *) continue ;; esac
	prepare_tree "$WORKDIR/mutant" "$i"
	make -s -C "$WORKDIR/mutant" test/core_test >"$WORKDIR/unit.log" 2>&1 ||
		{ cat "$WORKDIR/unit.log"; die "mutation '${names[i]}' does not build"; }
	if ! "$WORKDIR/mutant/test/core_test" >>"$WORKDIR/unit.log" 2>&1; then
		unit_killed[i]=1
		say "killed by the unit tests: ${names[i]}"
	fi
done

results=()
total_killed=0
total_survived=0
for major in $MAJORS; do
	PG_CONFIG=$(pg_config_for "$major")
	version=$("$PG_CONFIG" --version)
	say "$version"
	prepare_tree "$WORKDIR/tree"
	build_and_install_tree "$WORKDIR/tree" || die "the unmutated tree does not build on $version"
	rm -rf "$WORKDIR/data"	# the previous major's
	cluster_start
	if ! suites_pass "$WORKDIR/tree"; then
		KEEP_WORKDIR=1
		tail -n 40 "$WORKDIR/suite.log"
		die "the unmutated tree fails the suites on $version (logs in $WORKDIR): no mutation can be judged"
	fi
	killed=0
	survived=()
	for i in "${!names[@]}"; do
		if [ "${unit_killed[i]}" = 1 ]; then
			killed=$((killed + 1))
			continue
		fi
		prepare_tree "$WORKDIR/mutant" "$i"
		build_and_install_tree "$WORKDIR/mutant" || die "mutation '${names[i]}' does not build on $version"
		if suites_pass "$WORKDIR/mutant"; then
			say "SURVIVED: ${names[i]}"
			survived+=("${names[i]}")
		else
			say "killed: ${names[i]}"
			killed=$((killed + 1))
		fi
	done
	build_and_install_tree "$WORKDIR/tree" || true
	cluster_stop
	results+=("$version: $killed of ${#names[@]} killed${survived:+, survived: $(printf '"%s" ' "${survived[@]}")}")
	total_killed=$((total_killed + killed))
	total_survived=$((total_survived + ${#survived[@]}))
done

say "mutation scores"
printf '%s\n' "${results[@]}"
echo "$total_killed passed, $total_survived failed"
[ "$total_survived" -eq 0 ]
