"""The import direction of DESIGN.md, checked (import-linter checks the layers too)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
DOMAIN_MAY_IMPORT = {"pydantic", "eventsourcing.domain", "domain"}


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_domain_imports_only_stdlib_pydantic_and_eventsourcing_domain() -> None:
    offenders = {
        module: sorted(
            name
            for name in names
            if name.split(".")[0] not in sys.stdlib_module_names
            and name != "__future__"
            and not any(
                name == allowed or name.startswith(allowed + ".") for allowed in DOMAIN_MAY_IMPORT
            )
        )
        for module, names in imports_of("domain").items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}


def test_interfaces_never_touch_aggregates_the_event_store_or_sessions() -> None:
    forbidden = (
        "eventsourcing",
        "sqlalchemy.orm",
        "psycopg",
        "sqlite3",
        "domain.project",
        "domain.organisation",
        "domain.programme",
        "application.persistence",
    )
    offenders = {
        module: sorted(n for n in names if n.startswith(forbidden))
        for module, names in imports_of("interfaces").items()
    }
    assert {m: n for m, n in offenders.items() if n} == {}
