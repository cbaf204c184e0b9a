"""The pure core does no I/O: each module of sync_service.core, imported alone in a fresh
interpreter, loads none of the libraries that do (the database, trio, logging, Exchange, the
network, the wire's encoding). The engine and the core reach the club's settings through the
store, never through the admin commands."""

import ast
import json
import pathlib
import pkgutil
import subprocess
import sys

import pytest

import sync_service.core

ROOT = pathlib.Path(__file__).parents[3]
IO_LIBRARIES = ("peewee", "trio", "loguru", "exchangelib", "httpx", "msgpack", "sqlite3", "_sqlite3")
CORE_MODULES = sorted(f"sync_service.core.{m.name}" for m in pkgutil.iter_modules(sync_service.core.__path__))
# pure too, and what the core may import from outside it
PURE_MODULES = ["sync_service", "sync_service.core", *CORE_MODULES]

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[2]))))
"""


def test_the_core_is_found():
    assert {"sync_service.core.decide", "sync_service.core.model", "sync_service.core.plan"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", PURE_MODULES)
def test_a_pure_module_loads_no_io_library(module):
    answer = subprocess.run(
        [sys.executable, "-c", PROBE, module, json.dumps(IO_LIBRARIES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == [], f"importing {module} loads an I/O library"


def _imported(path: pathlib.Path) -> set[str]:
    """The absolute names a module imports (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


ENGINE_AND_CORE = sorted((ROOT / "sync_service" / "engine").glob("*.py")) + sorted(
    (ROOT / "sync_service" / "core").glob("*.py")
)


@pytest.mark.parametrize("path", ENGINE_AND_CORE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_engine_does_not_import_the_admin_commands(path):
    admin = sorted(n for n in _imported(path) if n == "sync_service.admin" or n.startswith("sync_service.admin."))
    assert admin == [], f"{path.relative_to(ROOT)} imports {admin}; read the club's settings through sync_service.store"


@pytest.mark.parametrize("path", sorted((ROOT / "sync_service" / "core").glob("*.py")), ids=lambda p: p.name)
def test_the_core_imports_nothing_of_the_service_around_it(path):
    allowed = ("sync_service.core", "protocol.text_limits", "protocol.entries")  # the wire's entries are sans-I/O
    ours = {n for n in _imported(path) if n.split(".")[0] in {"sync_service", "protocol", "exchange_gateway"}}
    outside = sorted(n for n in ours if not any(n == a or n.startswith(a + ".") for a in allowed))
    assert outside == [], f"core/{path.name} imports {outside}"


def test_the_import_reader_resolves_relative_imports():
    assert "sync_service.store.read_model.max_attempts" in _imported(
        ROOT / "sync_service" / "engine" / "calendar_state.py"
    )
