"""docs/scaling.md against the catalog: every table, view, sequence, function, type
and trigger of pmail's schema has exactly one row in the plan's catalog table, the plan
names nothing that does not exist, and each table's placement agrees with its keys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

pytestmark = pytest.mark.db

Conn = psycopg.Connection[tuple[object, ...]]
PLAN = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
BEGIN = "<!-- scaling-catalog:begin -->"
END = "<!-- scaling-catalog:end -->"
PLACEMENTS = {
    "table": {"distributed", "reference", "citus-local", "coordinator"},
    "sequence": {"distributed", "reference", "citus-local", "coordinator"},
    "view": {"every node", "coordinator"},
    "function": {"every node", "coordinator"},
    "type": {"every node"},
    "trigger": {"kept", "rebuilt", "replaced"},
}
# Which placements a table's foreign keys may point at (docs/scaling.md, source [B]).
FK_TARGETS = {
    "distributed": {"distributed", "reference"},
    "reference": {"reference"},
    "citus-local": {"reference", "citus-local"},
    "coordinator": {"coordinator"},
}


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the plan's catalog table."""

    name: str
    kind: str
    placement: str
    line: int


def plan_rows(text: str) -> tuple[list[Row], list[str]]:
    """Return the catalog rows between the markers and the problems of malformed ones."""
    if BEGIN not in text or END not in text:
        return [], [f"docs/scaling.md has no catalog table between {BEGIN} and {END}"]
    start = text.index(BEGIN)
    first_line = text.count("\n", 0, start) + 1
    body = text[start : text.index(END)].splitlines()
    rows: list[Row] = []
    problems: list[str] = []
    for offset, line in enumerate(body):
        number = first_line + offset
        if not line.startswith("|") or line.startswith(("| object ", "|---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`([^`]+)`", cells[0]) if cells else None
        if len(cells) != 4 or match is None:
            problems.append(
                f"docs/scaling.md line {number}: a catalog row is "
                "| `name` | kind | placement | text |"
            )
            continue
        rows.append(Row(match.group(1), cells[1], cells[2], number))
    return rows, problems


def catalog(conn: Conn) -> dict[tuple[str, str], str]:
    """Every object of pmail's schema as (kind, name) -> owning table (or '')."""
    schema = (
        "(SELECT relnamespace FROM pg_class WHERE oid = 'email_messages'::regclass)"
    )
    rows = conn.execute(
        f"""
        SELECT CASE WHEN c.relkind IN ('r', 'p') THEN 'table'
                    WHEN c.relkind IN ('v', 'm') THEN 'view' ELSE 'sequence' END,
               c.relname::text,
               coalesce((SELECT t.relname::text FROM pg_depend AS d
                         JOIN pg_class AS t ON t.oid = d.refobjid
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                           AND d.refclassid = 'pg_class'::regclass
                           AND d.deptype IN ('a', 'i') LIMIT 1), '')
        FROM pg_class AS c
        WHERE c.relnamespace = {schema} AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
        UNION ALL
        SELECT 'function', p.proname::text, ''
        FROM pg_proc AS p
        WHERE p.pronamespace = {schema}
          AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                            AND d.deptype = 'e')
        UNION ALL
        SELECT 'type', t.typname::text, ''
        FROM pg_type AS t
        WHERE t.typnamespace = {schema}
          AND (t.typtype IN ('d', 'e', 'r', 'm')
               OR (t.typtype = 'c' AND (SELECT c.relkind FROM pg_class AS c
                                        WHERE c.oid = t.typrelid) = 'c'))
          AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                          WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                            AND d.deptype = 'e')
        UNION ALL
        SELECT 'trigger', c.relname || '.' || t.tgname, c.relname::text
        FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid
        WHERE c.relnamespace = {schema} AND NOT t.tgisinternal
        """
    ).fetchall()
    return {(str(kind), str(name)): str(owner) for kind, name, owner in rows}


def coverage_problems(conn: Conn, text: str) -> list[str]:
    """What the plan lacks or names wrongly, one line per object, sorted."""
    rows, problems = plan_rows(text)
    objects = catalog(conn)
    planned: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row.kind, row.name)
        if key in planned:
            problems.append(
                f"{row.kind} {row.name}: two rows in docs/scaling.md "
                f"(lines {planned[key].line} and {row.line}); keep one"
            )
        planned[key] = row
        if row.kind not in PLACEMENTS:
            problems.append(
                f"docs/scaling.md line {row.line}: {row.name} has kind {row.kind!r}; "
                f"kinds are {', '.join(sorted(PLACEMENTS))}"
            )
        elif row.placement not in PLACEMENTS[row.kind]:
            problems.append(
                f"{row.kind} {row.name}: placement {row.placement!r} is not one of "
                f"{', '.join(sorted(PLACEMENTS[row.kind]))}"
            )
    for kind, name in sorted(objects.keys() - planned.keys()):
        problems.append(
            f"{kind} {name}: no row in docs/scaling.md; add one between the "
            f"scaling-catalog markers: | `{name}` | {kind} | "
            f"<{' or '.join(sorted(PLACEMENTS[kind]))}> | <what happens to it on "
            "Citus and what pmail does there> |"
        )
    for kind, name in sorted(planned.keys() - objects.keys()):
        problems.append(
            f"{kind} {name}: docs/scaling.md line {planned[(kind, name)].line} names "
            "an object the migrated schema does not have; remove or rename the row"
        )
    return problems


def placement_problems(conn: Conn, text: str) -> list[str]:
    """Where a table's keys contradict its planned placement, one line each."""
    rows, _ = plan_rows(text)
    tables = {r.name: r.placement for r in rows if r.kind == "table"}
    if "email_messages" not in tables:
        return ["docs/scaling.md's catalog table plans no table email_messages"]
    problems: list[str] = []
    keys = conn.execute(
        """
        SELECT c.relname::text, i.indexrelid::regclass::text,
               EXISTS (SELECT 1 FROM pg_attribute AS a
                       WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                         AND a.attnum = ANY (i.indkey))
        FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indrelid
        WHERE i.indisunique AND c.relname = ANY (%s)
        """,
        ([t for t, p in tables.items() if p == "distributed"],),
    ).fetchall()
    for table, index, has_tenant in keys:
        if not has_tenant:
            problems.append(
                f"table {table} is planned distributed but its unique index {index} "
                "lacks tenant_id (Citus needs the distribution column in every key)"
            )
    columns = conn.execute(
        "SELECT c.relname::text, a.attnotnull FROM pg_class AS c "
        "LEFT JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
        "AND NOT a.attisdropped WHERE c.relname = ANY (%s) AND c.relkind IN ('r', 'p')",
        ([t for t, p in tables.items() if p == "distributed"],),
    ).fetchall()
    for table, not_null in columns:
        if not_null is not True:
            problems.append(
                f"table {table} is planned distributed but has no NOT NULL tenant_id"
            )
    foreign = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, c.conname::text,
               'tenant_id' = ANY (SELECT a.attname::text FROM pg_attribute AS a
                                  WHERE a.attrelid = c.conrelid
                                    AND a.attnum = ANY (c.conkey)),
               'tenant_id' = ANY (SELECT a.attname::text FROM pg_attribute AS a
                                  WHERE a.attrelid = c.confrelid
                                    AND a.attnum = ANY (c.confkey))
        FROM pg_constraint AS c
        WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY (%s)
        """,
        (list(tables),),
    ).fetchall()
    for source, target, name, from_tenant, to_tenant in foreign:
        placement, target_placement = tables[str(source)], tables.get(str(target), "?")
        if target_placement not in FK_TARGETS[placement]:
            problems.append(
                f"table {source} ({placement}) has foreign key {name} to {target} "
                f"({target_placement}), which Citus does not allow"
            )
        elif placement == target_placement == "distributed" and not (
            from_tenant and to_tenant
        ):
            problems.append(
                f"foreign key {name} of {source} to {target} lacks tenant_id: "
                "co-located tables must join on the distribution column"
            )
    owners = catalog(conn)
    for row in rows:
        owner = owners.get(("sequence", row.name)) if row.kind == "sequence" else None
        if owner and tables.get(owner) != row.placement:
            problems.append(
                f"sequence {row.name} is planned {row.placement} but belongs to "
                f"{owner}, planned {tables.get(owner)}"
            )
    return problems


def test_every_object_of_the_schema_has_one_row_in_the_plan(conn: Conn) -> None:
    """Each table, view, sequence, function and trigger of a migrated database has one
    row in docs/scaling.md, and each row names an object that exists."""
    problems = coverage_problems(conn, PLAN.read_text(encoding="utf-8"))
    assert not problems, "docs/scaling.md is out of date:\n" + "\n".join(problems)


def test_table_placements_agree_with_their_keys(conn: Conn) -> None:
    """Distributed tables key and join on tenant_id; no foreign key points where
    Citus cannot follow it; identity sequences go where their tables go."""
    problems = placement_problems(conn, PLAN.read_text(encoding="utf-8"))
    assert not problems, "docs/scaling.md's placements:\n" + "\n".join(problems)


def test_a_new_object_is_named_in_the_failure(conn: Conn) -> None:
    """A migration that adds a function, a table and a trigger without plan rows makes
    the check name each of them, with the row to add; a row of a dropped object is
    named too."""
    text = PLAN.read_text(encoding="utf-8")
    conn.execute(
        "CREATE FUNCTION pmail_report_window(d date) RETURNS date "
        "LANGUAGE sql IMMUTABLE RETURN d"
    )
    conn.execute(
        "CREATE TABLE probe_lists (tenant_id uuid NOT NULL, address text NOT NULL, "
        "PRIMARY KEY (tenant_id, address))"
    )
    conn.execute(
        "CREATE TRIGGER pmail_keep_holds BEFORE DELETE ON probe_lists "
        "FOR EACH STATEMENT EXECUTE FUNCTION pmail_keep_holds()"
    )
    conn.execute("CREATE TYPE probe_reason AS ENUM ('bounce', 'complaint')")
    conn.execute("DROP VIEW storage_rollups_expected")
    problems = coverage_problems(conn, text)
    assert [p.split(":")[0] for p in problems] == [
        "function pmail_report_window",
        "table probe_lists",
        "trigger probe_lists.pmail_keep_holds",
        "type probe_reason",
        "view storage_rollups_expected",
    ]
    assert (
        "| `pmail_report_window` | function | <coordinator or every node> |"
        in (problems[0])
    )
    assert "names an object the migrated schema does not have" in problems[4]


def test_a_wrong_placement_is_named(conn: Conn) -> None:
    """A table planned as distributed whose key lacks tenant_id, and a coordinator
    table that refers to a reference table, are each reported by name."""
    conn.execute("CREATE TABLE probe_lists (address text PRIMARY KEY, tenant_id uuid)")
    conn.execute(
        "CREATE TABLE probe_log (tenant_id uuid REFERENCES tenants (tenant_id))"
    )
    text = PLAN.read_text(encoding="utf-8").replace(
        END,
        "| `probe_lists` | table | distributed | x |\n"
        "| `probe_log` | table | coordinator | x |\n" + END,
    )
    problems = placement_problems(conn, text)
    assert problems == [
        "table probe_lists is planned distributed but its unique index "
        "probe_lists_pkey lacks tenant_id (Citus needs the distribution column in "
        "every key)",
        "table probe_lists is planned distributed but has no NOT NULL tenant_id",
        "table probe_log (coordinator) has foreign key "
        "probe_log_tenant_id_fkey to tenants (reference), which Citus does not "
        "allow",
    ]
