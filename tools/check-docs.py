#!/usr/bin/env python3
"""make test's check of the documentation.

1. Links: every relative link in README.md, CHANGELOG.md, bench/RESULTS.md
   and doc/*.md must reach a file or directory that exists, and a link with
   #anchor a heading of the page it names (GitHub's anchors).
2. The reference: every function, view and advlock_named.* setting of the
   extension, as the running server (PGHOST, PGPORT, PGUSER) has them after
   CREATE EXTENSION, must be documented exactly once in doc/advlock_named.md,
   and nothing that does not exist may be.  The convention: a row of a table
   whose first column is headed "function", "view" or "setting", its first
   cell one code span: `name(its input arguments' names and types, as
   CREATE FUNCTION has them, without defaults)`, `view_name`,
   `advlock_named.setting`.  A function table's "returns" column must be
   pg_get_function_result in lower case.

3. Facts the code states: the errors table of the reference has every
   message src/ raises (and any other only if the server raises it); the
   names of server objects it gives are string literals in src/glue; the
   package and zip names in the pages carry the Makefile's EXTVERSION; and
   doc/development.md's layout names every file of src/, tools/, test/
   and bench/.

   tools/check-docs.py [--root DIR] [--links-only]
   tools/check-docs.py --self-check    proves that each kind of breakage fails

Exit status 0 if all is well, 1 with a list of what is wrong.
"""

import argparse
import glob
import os
import re
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True	# no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docs_common import (EXTENSION_FUNCTIONS_SQL, FUNCTION_SIGNATURE_SQL, ScratchDatabase,  # noqa: E402
                         heading_anchors, pages, prose_lines, psql, server_major, without_code_spans)

REFERENCE = "doc/advlock_named.md"
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)")


LINKS_CHECKED = [0]


def check_links(root):
    problems = []
    anchors_of = {}
    for page in pages(root):
        text = open(page, encoding="utf-8").read()
        for number, line in prose_lines(text):
            line = without_code_spans(line)
            targets = LINK.findall(line)
            definition = DEFINITION.match(line)
            if definition:
                targets.append(definition.group(1))
            for target in targets:
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):	# http:, mailto: ...
                    continue
                LINKS_CHECKED[0] += 1
                where = "%s:%d: %s" % (os.path.relpath(page, root), number, target)
                path, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                if not os.path.exists(resolved):
                    problems.append(where + ": no such file")
                    continue
                if not anchor:
                    continue
                if not resolved.endswith(".md"):
                    problems.append(where + ": an anchor in a file that is not Markdown")
                    continue
                if resolved not in anchors_of:
                    anchors_of[resolved] = heading_anchors(open(resolved, encoding="utf-8").read())
                if anchor not in anchors_of[resolved]:
                    problems.append(where + ": no heading with that anchor")
    return problems


def cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def documented_objects(root):
    """{kind: {name: [returns or None, line number]}} from the reference's tables."""
    objects = {"function": {}, "view": {}, "setting": {}}
    problems = []
    lines = open(os.path.join(root, REFERENCE), encoding="utf-8").read().split("\n")
    kind = None
    returns_column = None
    inside_code = False
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            inside_code = not inside_code
        if inside_code or not line.lstrip().startswith("|"):
            kind = None
            continue
        row = cells(line)
        if kind is None:
            if row[0] in objects:
                kind = row[0]
                returns_column = row.index("returns") if "returns" in row else None
            else:
                kind = ""	# another table: its rows are not objects
            continue
        if not kind or set(line.replace("|", "").strip()) <= set("-: "):
            continue
        match = re.fullmatch(r"`([^`]+)`", row[0])
        if not match:
            problems.append("%s:%d: the first cell of a %s row must be one code span: %s"
                            % (REFERENCE, number, kind, row[0]))
            continue
        name = re.sub(r"\s+", " ", match.group(1))
        returns = row[returns_column] if returns_column is not None and returns_column < len(row) else None
        if name in objects[kind]:
            problems.append("%s:%d: %s %s is documented twice (first on line %d)"
                            % (REFERENCE, number, kind, name, objects[kind][name][1]))
        objects[kind][name] = [returns, number]
    return objects, problems


def extension_objects():
    """The functions, views and settings the extension has on the running server."""
    with ScratchDatabase("advlock_named_doccheck") as database:
        functions = {signature: result.lower() for signature, result in psql(
            "SELECT %s, pg_get_function_result(p.oid) %s;" % (FUNCTION_SIGNATURE_SQL, EXTENSION_FUNCTIONS_SQL),
            database)}
        views = {row[0] for row in psql("""
            SELECT c.relname FROM pg_depend d
            JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'advlock_named'
            JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
            WHERE d.deptype = 'e' AND c.relkind = 'v';""", database)}
        others = [row[0] for row in psql("""
            SELECT pg_describe_object(d.classid, d.objid, d.objsubid) FROM pg_depend d
            JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'advlock_named'
            WHERE d.deptype = 'e' AND d.classid <> 'pg_proc'::regclass
              AND NOT (d.classid = 'pg_class'::regclass
                       AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'v');""", database)]
        settings = {row[0] for row in psql("""
            LOAD 'advlock_named';
            SELECT name FROM pg_settings WHERE name LIKE 'advlock\\_named.%';""", database)}
        # On 15 without preloading the directory's settings are not defined
        # (doc/advlock_named.md#settings), so only what exists can be checked.
        preloaded = psql("SELECT current_setting('shared_preload_libraries') ~ 'advlock_named';",
                         database)[0][0] == "t"
        all_settings = preloaded or server_major() >= 16
    return {"function": functions, "view": views, "setting": settings,
            "others": others, "all_settings": all_settings}


def check_reference(root, server):
    documented, problems = documented_objects(root)
    for kind in ("function", "view", "setting"):
        existing = server[kind]
        for name in sorted(set(existing) - set(documented[kind])):
            problems.append("%s: %s %s is not documented" % (REFERENCE, kind, name))
        for name in sorted(set(documented[kind]) - set(existing)):
            if kind == "setting" and not server["all_settings"]:
                continue
            problems.append("%s:%d: %s %s is documented but the extension has no such %s"
                            % (REFERENCE, documented[kind][name][1], kind, name, kind))
        if kind == "function":
            for name in sorted(set(documented[kind]) & set(existing)):
                returns, number = documented[kind][name]
                if returns is not None and returns.strip("`").lower() != existing[name]:
                    problems.append("%s:%d: %s returns %s, not %s"
                                    % (REFERENCE, number, name, existing[name], returns))
    for other in server["others"]:
        print("note: %s is not a function or a view; check-docs.py has no convention for it" % other)
    return problems


# A printf conversion in a message of src/.
FORMAT = r"%(?:\.\*)?(?:z|ll|l)?[sdum]"

# Messages in the errors table that the server raises, not src/.
SERVER_MESSAGES = {
    "invalid input syntax for type interval",
    "permission denied for function named_lock_stats_reset",
    'permission denied to set parameter "advlock_named.track_names"',
    'invalid configuration parameter name "advlock_named.…"',
}


def source_text(root):
    text = ""
    for path in sorted(glob.glob(os.path.join(root, "src", "*", "*.[ch]pp"))):
        text += open(path, encoding="utf-8").read()
    return text


def table_rows(text, first_header):
    """(line number, cells) of the rows of every table whose first header cell is first_header."""
    rows = []
    inside = False
    for number, line in enumerate(text.split("\n"), 1):
        if not line.startswith("|"):
            inside = False
            continue
        row = cells(line)
        if not inside:
            inside = row[0] == first_header
            continue
        if set(line.replace("|", "").strip()) <= set("-: "):
            continue
        rows.append((number, row))
    return rows


def check_facts(root):
    problems = []
    source = source_text(root)
    reference = open(os.path.join(root, REFERENCE), encoding="utf-8").read()

    # A message with a format (%s, %d, ...) is documented by each of its
    # forms: "semaphore %s must be at least 1" by "semaphore capacity must
    # be at least 1" and "semaphore permits must be at least 1".
    raised = {}
    for call in re.findall(r"errmsg\((\"(?:[^\"\\]|\\.)*\")", source):
        message = call[1:-1].replace('\\"', '"')
        pattern = "".join(".+" if re.fullmatch(FORMAT, part) else re.escape(part)
                          for part in re.split("(%s)" % FORMAT, message))
        raised[message] = re.compile(pattern)
    documented = set()
    for number, row in table_rows(reference, "message"):
        message = re.sub(r"^(?:WARNING|LOG)\s+", "", row[0]).strip()
        match = re.fullmatch(r"`([^`]+)`", message)
        if not match:
            problems.append("%s:%d: a message must be one code span: %s" % (REFERENCE, number, row[0]))
            continue
        forms = [raised_message for raised_message, pattern in raised.items()
                 if pattern.fullmatch(match.group(1))]
        documented.update(forms)
        if not forms and match.group(1) not in SERVER_MESSAGES:
            problems.append("%s:%d: neither src/ nor the server raises %s" % (REFERENCE, number, match.group(1)))
    for message in sorted(set(raised) - documented):
        problems.append("%s: the errors table lacks %s, which src/ raises" % (REFERENCE, message))

    for number, row in table_rows(reference, "object"):
        for name in re.findall(r"`(advlock_named[^`]*)`", row[1] if len(row) > 1 else ""):
            if '"%s"' % name.rstrip(".") not in source:
                problems.append("%s:%d: no string \"%s\" in src/" % (REFERENCE, number, name.rstrip(".")))

    version = re.search(r"^EXTVERSION\s*=\s*(\S+)", open(os.path.join(root, "Makefile")).read(), re.M).group(1)
    for page in pages(root):
        text = open(page, encoding="utf-8").read()
        for pattern in (r"advlock_named-(\d+\.\d+)\.zip", r"advlock-named_(\d+\.\d+)_"):
            for found in re.findall(pattern, text):
                if found != version:
                    problems.append("%s: %s names version %s, the Makefile %s"
                                    % (os.path.relpath(page, root), pattern.split("(")[0], found, version))

    layout = open(os.path.join(root, "doc", "development.md"), encoding="utf-8").read()
    for directory in ("src/core", "src/glue", "tools", "test", "bench", "t", "specs"):
        for path in sorted(glob.glob(os.path.join(root, directory, "*"))):
            name = os.path.basename(path)
            if os.path.isdir(path) or re.search(r"\.(o|bc|so|pyc)$", name) or name.startswith("."):
                continue
            if directory in ("t", "specs"):
                stem = directory + "/"	# named as a directory
            else:
                stem = name.split(".")[0]
            if stem not in layout:
                problems.append("doc/development.md: the layout does not name %s/%s" % (directory, name))
    return problems


def run(root, server):
    problems = check_links(root) + check_facts(root)
    if server is not None:
        problems += check_reference(root, server)
    return problems


VERSION = [None]


def self_check(root):
    """Each kind of breakage, on a copy of the pages, must be caught."""
    server = extension_objects()
    VERSION[0] = re.search(r"^EXTVERSION\s*=\s*(\S+)", open(os.path.join(root, "Makefile")).read(), re.M).group(1)
    reference_row = "| `named_lock_key(name text)` | bigint |"
    breakages = [
        ("a link to a missing file", "README.md",
         lambda s: s + "\n[broken](doc/no-such-page.md)\n", "no such file"),
        ("a link to a missing anchor", "doc/semantics.md",
         lambda s: s + "\n[broken](advlock_named.md#no-such-heading)\n", "no heading with that anchor"),
        ("an undocumented function", REFERENCE,
         lambda s: "\n".join(l for l in s.split("\n") if not l.startswith(reference_row)),
         "function named_lock_key(name text) is not documented"),
        ("a function that does not exist", REFERENCE,
         lambda s: s.replace(reference_row, "| `named_lock_nonexistent(name text)` | void | 1.3 | x |\n"
                             + reference_row, 1),
         "named_lock_nonexistent(name text) is documented but the extension has no such function"),
        ("a wrong return type", REFERENCE,
         lambda s: s.replace("| `named_lock_is_held(name text)` | boolean |",
                             "| `named_lock_is_held(name text)` | integer |", 1),
         "named_lock_is_held(name text) returns boolean, not integer"),
        ("an error src/ raises left out", REFERENCE,
         lambda s: "\n".join(l for l in s.split("\n")
                             if not l.startswith("| `too many named locks held by this session`")),
         "the errors table lacks too many named locks held by this session"),
        ("one form of a message with a format left out", REFERENCE,
         lambda s: "\n".join(l for l in s.split("\n") if not l.startswith("| `semaphore capacity must be at least 1`")
                             and not l.startswith("| `semaphore permits must be at least 1`")),
         "the errors table lacks semaphore %s must be at least 1"),
        ("a package of another version", "README.md",
         lambda s: s.replace("advlock_named-%s.zip" % VERSION[0], "advlock_named-0.9.zip"),
         "names version"),
        ("a file the layout does not name", "tools/new_helper.sh",
         lambda s: s + "# a helper nobody documented\n", "the layout does not name tools/new_helper.sh"),
        ("an undocumented view", REFERENCE,
         lambda s: "\n".join(l for l in s.split("\n") if not l.startswith("| `named_lock_stats_info` |")),
         "view named_lock_stats_info is not documented"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        copy = os.path.join(scratch, "tree")
        shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".git", "results", "tmp_check*",
                                                                  "output_iso", "log", "*.o", "*.bc"))
        clean = run(copy, server)
        print("the pages as they are: %s" % ("pass" if not clean else "FAIL: " + "; ".join(clean)))
        failures += bool(clean)
        for what, page, breakage, expected in breakages:
            path = os.path.join(copy, page)
            original = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
            broken = breakage(original)
            if broken == original:
                print("%s: the breakage did not apply to %s" % (what, page))
                failures += 1
                continue
            open(path, "w", encoding="utf-8").write(broken)
            found = run(copy, server)
            if original:
                open(path, "w", encoding="utf-8").write(original)
            else:
                os.remove(path)
            caught = any(expected in problem for problem in found)
            print("%s: %s" % (what, "caught" if caught else "NOT CAUGHT (%s)" % found))
            failures += not caught
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    parser.add_argument("--links-only", action="store_true", help="no server: check the links only")
    parser.add_argument("--self-check", action="store_true")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    if args.self_check:
        sys.exit(1 if self_check(root) else 0)
    server = None if args.links_only else extension_objects()
    problems = run(root, server)
    for problem in problems:
        print(problem)
    checked = "%d relative links in %d pages" % (LINKS_CHECKED[0], len(pages(root)))
    if server is not None:
        checked += "; %d functions, %d views, %d settings against the reference" % (
            len(server["function"]), len(server["view"]), len(server["setting"]))
    print("%s: %s" % ("FAIL" if problems else "ok", checked))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
