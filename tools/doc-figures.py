#!/usr/bin/env python3
"""The documentation's figures that code can produce, produced by code.

A page holds each such figure in a block

    <!-- generated: NAME (tools/doc-figures.py --write) -->
    ...
    <!-- end generated -->

and this script makes the block again: from the Makefile and the test
scripts (matrix, test-lengths) or from the running server that PGHOST,
PGPORT and PGUSER name, with the library preloaded (properties, memory).
A block measured on a server carries its major in the marker
("generated: memory, PostgreSQL 15"); on a server of another major it is
not compared, and says so, because memory figures differ between majors.

    tools/doc-figures.py            compare; exit 1 if a block differs
    tools/doc-figures.py --write    rewrite the blocks that differ
"""

import argparse
import glob
import os
import re
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docs_common import (EXTENSION_FUNCTIONS_SQL, FUNCTION_SIGNATURE_SQL, ScratchDatabase,  # noqa: E402
                         pages, psql, server_major)

BLOCK = re.compile(r"(<!-- generated: (?P<name>[a-z-]+)(?:, PostgreSQL (?P<major>\d+))? \(tools/doc-figures\.py --write\) -->\n)"
                   r"(?P<body>.*?)(<!-- end generated -->)", re.S)
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def read(path):
    return open(os.path.join(ROOT, path), encoding="utf-8").read()


def make_variable(name):
    """A variable of the Makefile, continuation lines joined, as a list of words."""
    text = read("Makefile").replace("\\\n", " ")
    match = re.search(r"^%s\s*=(.*)$" % re.escape(name), text, re.M)
    if not match:
        sys.exit("no %s in the Makefile" % name)
    return match.group(1).split()


def matrix():
    """What make test-matrix prints per major when everything passes: regress
    twice, the specs twice (15 leaves out the directory's in its first pass,
    as tools/test-matrix.sh does below 17), each TAP file that runs on the major, and each script of test/ it runs."""
    regress = len(make_variable("REGRESS"))
    base = len(make_variable("ISOLATION_BASE"))
    directory = len(make_variable("ISOLATION_DIRECTORY"))
    tap_files = glob.glob(os.path.join(ROOT, "t", "*.pl"))
    # files that skip themselves below a major: "plan skip_all => ... if $node->pg_version < N;"
    tap_from = [int(m.group(1)) if m else 0 for m in
                (re.search(r"plan skip_all => .* if \$node->pg_version < (\d+);", open(f).read()) for f in tap_files)]
    script = read("tools/test-matrix.sh")
    majors = re.search(r'MAJORS=\$\{MAJORS:-"([0-9 ]+)"\}', script).group(1).split()
    if ('isolation_unloaded=($(isolation_without_preloading))' not in script or
            '[ "$(pg_major)" -ge 17 ] || echo "ISOLATION=\\$(ISOLATION_BASE)"' not in read("tools/cluster.sh")):
        sys.exit("tools/test-matrix.sh no longer runs every spec unpreloaded from 17 on; update doc-figures.py")
    # the scripts run_major runs once each (torture, differential, ...)
    checks = len(re.findall(r"^\t(?:if )?test/\S+ ", script, re.M))
    lines = []
    for major in majors:
        unloaded = base + directory if int(major) >= 17 else base
        tap = sum(1 for start in tap_from if int(major) >= start)
        total = 2 * regress + unloaded + base + directory + tap + checks
        lines.append("PostgreSQL %s.x: %d passed, 0 failed" % (major, total))
    return "```\n" + "\n".join(lines) + "\n```\n"


def test_lengths():
    run_tests = read("tools/run-tests.sh")
    test_matrix = read("tools/test-matrix.sh")
    torture = re.search(r"run_torture torture --workers (\d+) --seconds (\d+)", run_tests).groups()
    differential = re.search(r"differential\.py --seconds \"\$\{DIFFERENTIAL_SECONDS:-(\d+)\}\"", run_tests).group(1)
    matrix_torture = re.search(r"test/torture\.sh --workers (\d+) --seconds (\d+)", test_matrix).groups()
    matrix_differential = re.search(r"differential\.py --seconds (\d+)", test_matrix).group(1)
    return ("| test | `make test` | `make test-matrix` |\n"
            "| --- | --- | --- |\n"
            "| `test/torture.sh` | %s workers, %s s | %s workers, %s s |\n"
            "| `test/differential.py` | %s s (`DIFFERENTIAL_SECONDS`) | %s s |\n"
            % (torture + matrix_torture + (differential, matrix_differential)))


VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
PARALLEL = {"s": "safe", "r": "restricted", "u": "unsafe"}


def properties(database):
    rows = psql("SELECT p.proname, %s, p.provolatile, p.proparallel, p.proisstrict %s;"
                % (FUNCTION_SIGNATURE_SQL, EXTENSION_FUNCTIONS_SQL), database)
    groups = {}
    for name, signature, volatility, parallel, strict in rows:
        group = "%s, %s%s" % (VOLATILITY[volatility], PARALLEL[parallel], ", strict" if strict == "t" else "")
        groups.setdefault(group, []).append((name, signature))
    group_of_name = {}
    for group, functions in groups.items():
        for name, _ in functions:
            group_of_name.setdefault(name, set()).add(group)
    body = "| volatility, parallel | functions |\n| --- | --- |\n"
    order = ["immutable", "stable", "volatile"]
    for group in sorted(groups, key=lambda g: (order.index(g.split(",")[0]), g)):
        shown = set()
        for name, signature in sorted(groups[group]):
            # a name all of whose forms share the group is shown once, bare
            shown.add("`%s`" % (name if len(group_of_name[name]) == 1 else signature))
        body += "| %s | %s |\n" % (group, ", ".join(sorted(shown, key=lambda f: f.strip("`").split("("))))
    return body


def context_bytes(database, setup, context):
    """total_bytes of a memory context of a fresh session after setup."""
    rows = psql(setup + "\nSELECT coalesce(sum(total_bytes), 0) FROM pg_backend_memory_contexts WHERE name = '%s';"
                % context, database)
    return int(rows[-1][0])


def memory(database):
    short = context_bytes(database, "SELECT count(named_lock_exclusive('job-' || g)) FROM generate_series(1, 1000) g;",
                          "advlock_named names")
    long_ = context_bytes(database, "SELECT count(named_lock_exclusive(repeat('x', 1996) || g)) "
                          "FROM generate_series(1000, 1999) g;", "advlock_named names")
    before = context_bytes(database, "SET advlock_named.track_names = on;", "TopMemoryContext")
    after = context_bytes(database, "SELECT named_lock_exclusive('job-1');", "TopMemoryContext")
    directory = psql("SELECT size, current_setting('advlock_named.max_names')::int FROM pg_shmem_allocations "
                     "WHERE name = 'advlock_named name directory';", database)
    if not directory:
        sys.exit("memory: the server has no name directory in shared memory; preload the library")
    size, max_names = int(directory[0][0]), int(directory[0][1])
    return ("| what | bytes | per name |\n"
            "| --- | ---: | ---: |\n"
            "| `advlock_named names`, 1,000 names like `job-17` held | {:,} | {:,} |\n"
            "| `advlock_named names`, 1,000 names of 2,000 bytes held | {:,} | {:,} |\n"
            "| `TopMemoryContext` growth at the first published name (the session's record of its names) | {:,} | |\n"
            "| shared memory `advlock_named name directory`, `max_names` = {:,} | {:,} | {:,} |\n"
            ).format(short, round(short / 1000), long_, round(long_ / 1000), after - before,
                     max_names, size, round(size / max_names))


GENERATORS = {
    "matrix": (matrix, False),
    "test-lengths": (test_lengths, False),
    "properties": (properties, True),
    "memory": (memory, True),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the blocks that differ")
    args = parser.parse_args()

    blocks = []
    for page in pages(ROOT):
        for match in BLOCK.finditer(open(page, encoding="utf-8").read()):
            blocks.append((page, match.group("name")))
    needs_server = any(GENERATORS.get(name, (None, False))[1] for _, name in blocks)
    major = server_major() if needs_server else None

    made = {}
    problems = 0

    def generate(name, database):
        if name not in made:
            function, uses_server = GENERATORS[name]
            made[name] = function(database) if uses_server else function()
        return made[name]

    def rewrite(page, database):
        nonlocal problems
        text = open(page, encoding="utf-8").read()

        def replace(match):
            nonlocal problems
            name = match.group("name")
            where = "%s: %s" % (os.path.relpath(page, ROOT), name)
            if name not in GENERATORS:
                print("%s: no such generator" % where)
                problems += 1
                return match.group(0)
            uses_server = GENERATORS[name][1]
            if uses_server and match.group("major") and int(match.group("major")) != major and not args.write:
                print("%s: measured on PostgreSQL %s, the server is %d: not compared" % (where, match.group("major"), major))
                return match.group(0)
            body = generate(name, database)
            marker = "<!-- generated: %s%s (tools/doc-figures.py --write) -->\n" % (
                name, ", PostgreSQL %d" % major if uses_server and name == "memory" else "")
            if body == match.group("body") and marker == match.group(1):
                print("%s: up to date" % where)
                return match.group(0)
            if args.write:
                print("%s: rewritten" % where)
                return marker + body + "<!-- end generated -->"
            print("%s: differs from what the code gives; tools/doc-figures.py --write makes it:\n%s"
                  % (where, body))
            problems += 1
            return match.group(0)

        new = BLOCK.sub(replace, text)
        if new != text:
            open(page, "w", encoding="utf-8").write(new)

    if needs_server:
        with ScratchDatabase("advlock_named_docfigures") as database:
            for page in pages(ROOT):
                rewrite(page, database)
    else:
        for page in pages(ROOT):
            rewrite(page, None)
    if not blocks:
        print("no generated blocks found")
        problems += 1
    print("%s: %d generated blocks" % ("FAIL" if problems else "ok", len(blocks)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
