#!/usr/bin/env python3
"""Runs every ```sql block of README.md, CHANGELOG.md and docs/*.md against a live cluster, so
the docs cannot rot. Called by scripts/docs_test.sh, which starts the cluster.

Per file, in order, in one psql session (ON_ERROR_STOP) as the superuser, in a database made
afresh for that file (`ws_docs_<file>`), where the extension does not exist yet. Roles are
cluster-wide: a file's hidden setup creates the roles it needs only if they are missing. A block that
needs context no reader needs to see gets it from an HTML comment right in the Markdown:

    <!-- sql-test
    CREATE ROLE app;
    -->

which runs in its place, between the visible blocks. Snippets that cannot run here are fenced
as something else (```ini, ```sh, ```text). Ids go in psql variables (`\\gset`, `:'schedule_id'`).

A statement whose last line ends in `--> TEXT` must print exactly TEXT (its rows, unaligned,
`|` between columns, one line per row joined with ` / `):

    SELECT schedule_describe('@weekly');   --> At 00:00, only on Sunday

    python3 scripts/docs_sql.py SOCKET_DIR PORT FILE...
"""
import re
import subprocess
import sys

PSQL = "/usr/lib/postgresql/15/bin/psql"


def chunks(path):
    """The sql and sql-test blocks of a Markdown file: (line number, kind, text)."""
    out, kind, start, body = [], None, 0, []
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        stripped = line.rstrip("\n")
        if kind is None:
            indent = len(stripped) - len(stripped.lstrip())
            if stripped.strip() == "```sql":
                kind, start, body = "sql", number, []
            elif stripped.strip() == "<!-- sql-test":
                kind, start, body = "sql-test", number, []
        elif (kind == "sql" and stripped.strip() == "```") or (kind == "sql-test" and stripped.strip() == "-->"):
            out.append((start, kind, "\n".join(body)))
            kind = None
        else:
            # A block inside a list item is indented like its fence.
            body.append(stripped[indent:] if stripped[:indent].strip() == "" else stripped)
    if kind is not None:
        sys.exit(f"{path}:{start}: unterminated {kind} block")
    return out


CHECK = re.compile(r"^(.*?)\s*-->\s?(.*)$")


def with_checks(path, fence, text):
    """The block's text with each `--> TEXT` statement wrapped so its output can be compared;
    returns the script and the expected outputs by marker."""
    out, expected = [], {}
    for number, line in enumerate(text.split("\n")):
        match = CHECK.match(line)
        if not match:
            out.append(line)
            continue
        if not match.group(1).rstrip().endswith(";"):
            sys.exit(f"{path}:{fence + 1 + number}: --> must follow the ; that ends a statement")
        # The statement began after the previous line that ended one (or the block's start).
        start = len(out)
        while start > 0 and not re.sub(r"\s--.*$", "", out[start - 1]).rstrip().endswith(";") \
                and not out[start - 1].lstrip().startswith("\\"):
            start -= 1
        marker = f"{path}:{fence + 1 + number}"
        expected[marker] = match.group(2).strip()
        statement = out[start:] + [match.group(1)]
        del out[start:]
        out += [f"\\echo '@@check {marker}'", "\\pset format unaligned", "\\pset tuples_only on",
                *statement, "\\pset tuples_only off", "\\pset format aligned", "\\echo '@@end'"]
    return "\n".join(out), expected


def compare(stdout, expected):
    got = {m.group(1): " / ".join(l for l in m.group(2).split("\n") if l)
           for m in re.finditer(r"^@@check (\S+)\n(.*?)^@@end$", stdout, re.M | re.S)}
    return [f"{marker}: expected {want!r}, got {got.get(marker)!r}"
            for marker, want in expected.items() if got.get(marker) != want]


def psql(host, port, db, *args, stdin=None):
    return subprocess.run(
        [PSQL, "-X", "-h", host, "-p", port, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", *args],
        input=stdin, capture_output=True, text=True,
    )


def main():
    host, port, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    failed, blocks_run = 0, 0
    # A clean slate: the last run's databases, then every role but postgres (roles are
    # cluster-wide, so a file's hidden setup creates its roles only if missing). The docs
    # cluster is this script's alone.
    for statement in (
        "SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_catalog.pg_database"
        " WHERE datname LIKE 'ws\\_docs\\_%' \\gexec",
        "SELECT format('DROP ROLE %I', rolname) FROM pg_catalog.pg_roles"
        " WHERE rolname !~ '^pg_' AND rolname <> 'postgres' \\gexec",
    ):
        result = psql(host, port, "postgres", stdin=statement + "\n")
        if result.returncode != 0:
            sys.exit(result.stderr)
    for path in files:
        blocks = chunks(path)
        if not any(kind == "sql" for _, kind, _ in blocks):
            continue
        db = "ws_docs_" + re.sub(r"[^a-z0-9]+", "_", path.lower().rsplit("/", 1)[-1].removesuffix(".md"))
        setup = [f"DROP DATABASE IF EXISTS {db} WITH (FORCE)", f"CREATE DATABASE {db}"]
        for statement in setup:
            result = psql(host, port, "postgres", stdin=statement + "\n")
            if result.returncode != 0:
                sys.exit(result.stderr)
        script, expected = [], {}
        for line, kind, text in blocks:
            # A marker before each block tells which one failed.
            text, wanted = with_checks(path, line, text)
            expected.update(wanted)
            script.append(f"\\echo '@@ {path}:{line} ({kind})'\n{text}\n")
        result = psql(host, port, db, "-q", "-f", "-", stdin="".join(script))
        shown = sum(kind == "sql" for _, kind, _ in blocks)
        mismatches = compare(result.stdout, expected) if result.returncode == 0 else []
        if mismatches:
            print(f"FAILED {path}: output differs from the text after -->\n" + "\n".join(mismatches))
            failed += 1
        elif result.returncode != 0:
            markers = re.findall(r"^@@ (.*)$", result.stdout, re.M)
            where = markers[-1] if markers else path
            print(f"FAILED {where}\n{result.stderr.strip()}")
            failed += 1
        else:
            print(f"ok {path}: {shown} sql blocks, {len(expected)} outputs checked")
            blocks_run += shown
    checked = sum(1 for path in files if any(k == "sql" for _, k, _ in chunks(path)))
    print(f"docs sql: {checked} files checked, {blocks_run} sql blocks ran, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
