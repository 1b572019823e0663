"""Shared by tools/check-docs.py and tools/doc-figures.py: the pages that
make up the documentation, Markdown read the way GitHub renders it, and
psql against the server that PGHOST/PGPORT/PGUSER name."""

import os
import re
import subprocess
import sys

# The pages a reader opens; bench/notebook/ is history and not checked.
PAGE_GLOBS = ["README.md", "CHANGELOG.md", "bench/RESULTS.md", "doc/*.md"]


def pages(root):
    import glob
    found = []
    for pattern in PAGE_GLOBS:
        found.extend(sorted(glob.glob(os.path.join(root, pattern))))
    return found


FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text):
    """(line number, line) of every line outside fenced code blocks."""
    inside = False
    for number, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            yield number, line


def without_code_spans(line):
    return re.sub(r"`[^`]*`", "", line)


def heading_anchors(text):
    """The anchors GitHub gives the headings of a page, plus explicit ids."""
    anchors = set()
    seen = {}
    for _, line in prose_lines(text):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            title = match.group(1)
            title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)	# a link's text
            title = re.sub(r"<[^>]+>", "", title)
            slug = title.replace("`", "").strip().lower()
            slug = re.sub(r"[^\w\- ]", "", slug)
            slug = slug.replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else "%s-%d" % (slug, count))
        for explicit in re.findall(r"<a\s+(?:id|name)=\"([^\"]+)\"", line):
            anchors.add(explicit)
    return anchors


def psql(sql, database=None):
    """Runs sql with psql (no psqlrc, unaligned, tuples only); returns rows of fields."""
    command = ["psql", "-X", "-q", "-t", "-A", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
    if database:
        command += ["-d", database]
    result = subprocess.run(command, input=sql, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("psql failed: " + result.stderr.strip())
    return [line.split("\t") for line in result.stdout.splitlines() if line]


class ScratchDatabase:
    """A database with the extension created in it, dropped on exit."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        psql("DROP DATABASE IF EXISTS %s;\nCREATE DATABASE %s;" % (self.name, self.name))
        psql("CREATE EXTENSION advlock_named;", self.name)
        return self.name

    def __exit__(self, *exc):
        psql("DROP DATABASE IF EXISTS %s;" % self.name)
        return False


# An extension function as its documentation names it: name(input arguments
# with their names and types, as CREATE FUNCTION has them, no defaults).
# Expects the function as p (pg_proc).
FUNCTION_SIGNATURE_SQL = """p.proname || '(' || coalesce((
    SELECT string_agg(coalesce(a.name || ' ', '') || format_type(a.type, NULL), ', ' ORDER BY a.i)
    FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames, p.proargmodes)
         WITH ORDINALITY AS a(type, name, mode, i)
    WHERE coalesce(a.mode, 'i') IN ('i', 'b', 'v')), '') || ')'"""

# The extension's functions, as p, joined to its membership in pg_depend.
EXTENSION_FUNCTIONS_SQL = """FROM pg_depend d
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'advlock_named'
    JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
    WHERE d.deptype = 'e'"""


def server_major():
    return int(psql("SHOW server_version_num;")[0][0]) // 10000
