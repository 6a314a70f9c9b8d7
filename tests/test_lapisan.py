"""The layering, checked on the source like the access matrix is checked on the routes.

route → service → db: routes parse and render, services hold the rules and transactions, db/ holds
the SQL. A new violation fails here with the file, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (layer, packages it must not import, why)
RULES = [
    ("routes", {"db", "sqlite3", "sqlite_utils", "integrations"}, "routes reach storage and other systems only "
                                                                   "through a service"),
    ("services", {"starlette", "web", "routes", "jinja2", "uvicorn"}, "services know no HTTP and no pages"),
    ("db", {"services", "web", "routes", "biometrics", "integrations", "ops"}, "db/ imports nothing above it"),
    ("biometrics", {"web", "db", "services", "routes", "integrations", "starlette"}, "face code knows no HTTP or SQL"),
    ("integrations", {"web", "routes", "services", "starlette"}, "adapters know no pages or rules"),
]
# The one exception, by name: db/seed.py keeps the seeding command's old names reachable (lazily) for
# scripts that still run ``db.seed``; the command itself lives in ops/seed.py.
# And one pure function: the SMS log masks numbers with the one masking function (services/samaran.py).
ALLOWED = {("db/seed.py", "ops"), ("integrations/sms.py", "services")}

SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE INTO|CREATE|DROP|ALTER|PRAGMA|BEGIN|WITH)\s+\S")
SQL_OUTSIDE_DB = ["routes", "services", "web", "integrations", "biometrics", "ops", "app.py"]


def _files(where: str) -> list[Path]:
    path = ROOT / where
    return [path] if path.is_file() else sorted(path.rglob("*.py"))


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


def test_each_layer_imports_only_what_is_below_it():
    broken = []
    for layer, forbidden, why in RULES:
        for path in _files(layer):
            rel = path.relative_to(ROOT).as_posix()
            for line, top in _imports(_parse(path)):
                if top in forbidden and (rel, top) not in ALLOWED:
                    broken.append(f"{rel}:{line} imports {top} ({why})")
    assert not broken, "\n".join(broken)


def test_sql_is_written_only_in_db():
    found = []
    for where in SQL_OUTSIDE_DB:
        for path in _files(where):
            rel = path.relative_to(ROOT).as_posix()
            for node in ast.walk(_parse(path)):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                    found.append(f"{rel}:{node.lineno} SQL text {node.value.strip()[:40]!r}")
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in {"execute", "executemany", "executescript", "query"}):
                    found.append(f"{rel}:{node.lineno} .{node.func.attr}() outside db/")
    assert not found, "\n".join(found)


def test_no_route_handler_runs_on_the_event_loop():
    """Every endpoint is a plain ``def``: Starlette runs it in the thread pool. A POST's body is read by
    ``web.render.with_form``, the only ``async`` step; the Store also refuses SQLite on the loop at run time."""
    found = [f"{path.relative_to(ROOT).as_posix()}:{node.lineno} async def {node.name}"
             for path in _files("routes") for node in ast.walk(_parse(path)) if isinstance(node, ast.AsyncFunctionDef)]
    assert not found, "\n".join(found)


def test_configuration_is_read_only_by_settings():
    """Environment variables are read in web/settings.py; the clock's MPP_NOW (services/kalender.py) is the
    documented exception (read at each call so a test or demo can move the day), and the command-line tools
    (ops/, biometrics' CLI and its photo folder, bench/) read their own."""
    allowed = {"web/settings.py", "services/kalender.py", "ops/seed.py", "ops/replica.py", "biometrics/cli.py",
               "biometrics/config.py", "biometrics/matching.py"}
    found = []
    for where in ["app.py", "routes", "services", "web", "db", "integrations", "biometrics", "ops"]:
        for path in _files(where):
            rel = path.relative_to(ROOT).as_posix()
            if rel in allowed:
                continue
            text = path.read_text()
            for needle in ("os.environ", "os.getenv", "getenv("):
                if needle in text:
                    found.append(f"{rel} reads {needle}")
    assert not found, "\n".join(found)


def test_one_clock():
    """"Now" comes from services.kalender (which MPP_NOW pins); no other module asks the system clock."""
    pattern = re.compile(r"datetime\.now\(|date\.today\(|datetime\.utcnow\(|time\.time\(\)|'now'\)|\"now\"\)")
    # the e-signature adapter stands for an outside service that stamps with its own clock (signing time)
    allowed = {"services/kalender.py", "integrations/tte.py"}
    found = []
    for where in ["app.py", "routes", "services", "web", "db", "integrations"]:
        for path in _files(where):
            rel = path.relative_to(ROOT).as_posix()
            if rel in allowed or rel == "db/migrations.py":  # column DEFAULTs of rows written long ago
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{rel}:{number} {line.strip()[:80]}")
    assert not found, "\n".join(found)


def test_every_route_has_a_name_of_its_own(app):
    """Links and redirects are made from route names (``url()`` in templates, ``render.path_to``)."""
    import collections

    names = collections.Counter(getattr(route, "name", None) for route in app.routes)
    assert None not in names and not [n for n, count in names.items() if count > 1]
