#!/usr/bin/env bash
# make mutation-test: applies each hand mutation of test/mutations.txt to a
# copy of the tree, builds and installs it, and runs the fast suites (unit
# tests, pg_regress, isolation, a short differential check) on a throwaway
# cluster.  Every mutation must make at least one of them fail; one that
# survives points at a test that cannot fail.  Reinstalls the unmutated
# build at the end.  Takes about a minute per mutation.
#
# With --check it only checks that every record still applies to the
# source (its old text occurs exactly once), which make test does, so that
# a change to src/ cannot leave a record behind unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/cluster.sh

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
# replaces it with that.
mutate() {
	/usr/bin/python3 - "$@" <<'PY'
import sys
tree, path, old = sys.argv[1:4]
text = open(tree + "/" + path).read()
if text.count(old) != 1:
    sys.exit("%s: expected one occurrence of %r, found %d" % (path, old, text.count(old)))
if len(sys.argv) > 4:
    open(tree + "/" + path, "w").write(text.replace(old, sys.argv[4]))
PY
}

if [ "${1:-}" = --check ]; then
	count=0
	while IFS=$'\t' read -r name file old new; do
		mutate . "$file" "$old" || die "mutation '$name' no longer applies"
		count=$((count + 1))
	done < <(records test/mutations.txt)
	echo "all $count mutation records apply"
	exit 0
fi

restore() {
	make -s PG_CONFIG="$PG_CONFIG" install >/dev/null 2>&1 || true
	cleanup
}
trap restore EXIT

ensure_prerequisites
ensure_client_prerequisites
build_and_install
make_workdir
cluster_start

# Runs the fast suites on the mutant in $1; fails when any of them fails.
# A mutant that survives them runs pg_regress and the specs again with the
# library preloaded, which on PostgreSQL 15 is what gives the name directory.
suites_pass() {
	local tree=$1 log=$WORKDIR/suite.log passed=0
	make -s -C "$tree" unit-test >"$log" 2>&1 || return 1
	as_cluster_user make -s -C "$tree" PG_CONFIG="$PG_CONFIG" installcheck TAP_TESTS= >>"$log" 2>&1 || return 1
	test/differential.py --seconds 10 >>"$log" 2>&1 || return 1
	cluster_restart "-c shared_preload_libraries=advlock_named"
	as_cluster_user make -s -C "$tree" PG_CONFIG="$PG_CONFIG" installcheck TAP_TESTS= >>"$log" 2>&1 && passed=1
	cluster_restart ""
	[ "$passed" = 1 ]
}

killed=0
survived=()
while IFS=$'\t' read -r name file old new; do
	tree=$WORKDIR/mutant
	rm -rf "$tree"
	as_cluster_user mkdir "$tree"
	tar --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . |
		as_cluster_user tar -xf - -C "$tree"
	mutate "$tree" "$file" "$old" "$new" || die "mutation '$name' no longer applies"
	if ! as_cluster_user make -s -C "$tree" PG_CONFIG="$PG_CONFIG" >"$WORKDIR/build.log" 2>&1 ||
		! make -s -C "$tree" PG_CONFIG="$PG_CONFIG" install >>"$WORKDIR/build.log" 2>&1; then
		cat "$WORKDIR/build.log"
		die "mutation '$name' does not build"
	fi
	if suites_pass "$tree"; then
		say "SURVIVED: $name"
		survived+=("$name")
	else
		say "killed: $name"
		killed=$((killed + 1))
	fi
done < <(records test/mutations.txt)

echo "mutations: ${#survived[@]} survived, $killed killed"
echo "$killed passed, ${#survived[@]} failed"
[ "${#survived[@]}" -eq 0 ]
