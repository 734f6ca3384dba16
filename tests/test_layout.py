"""The tree shows the processes: no module of one process's folder imports another's.

``kernel/`` (the training process), ``service/`` (the run's separate process),
``server/`` (the tracking server) and ``labserver/`` (the Jupyter server
extension) only share the modules at the top of the package and the layers
(``numerics/``, ``livepanel/``). Imports are read from the source (every
``import`` statement, also inside functions), so a lazy import counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_tracker"
PROCESSES = ("kernel", "service", "server", "labserver")
#: Layers and who may use them: the live panel runs in the kernel only.
LAYER_USERS = {"livepanel": ("kernel", "livepanel")}
MAX_TOP_LEVEL_MODULES = 14


def _imports(path: Path) -> list[tuple[int, str]]:
    """Absolute dotted names (``jupyter_tracker.x.y``) of what ``path`` imports."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    if parts[-1] == "__init__":
        package = parts[:-1]
    tree = ast.parse(path.read_text(), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((node.lineno, module))
            out += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in out if name.startswith("jupyter_tracker")]


def _area(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else None


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "labextension" not in p.parts)


def test_no_process_imports_another() -> None:
    problems = []
    for path in _modules():
        area = path.relative_to(PACKAGE).parts[0] if path.parent != PACKAGE else None
        for line, name in _imports(path):
            target = _area(name)
            if target is None or target == area:
                continue
            where = f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
            if target in PROCESSES and area in PROCESSES:
                problems.append(where)
            elif target in LAYER_USERS and area not in LAYER_USERS[target]:
                problems.append(where)
    assert not problems, "imports across process folders:\n" + "\n".join(problems)


def test_shared_modules_import_no_process() -> None:
    """The shared core at the top may be used by every process, so it imports none of them
    at module level (a lazy import of a command's implementation, as the CLI does, is allowed)."""
    problems = []
    for path in _modules():
        if path.parent != PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only
            if isinstance(node, ast.ImportFrom) and node.level == 1 and (node.module or "").split(".")[0] in PROCESSES:
                if path.name not in ("__init__.py",):
                    problems.append(f"{path.name}:{node.lineno} from .{node.module}")
    assert not problems, problems


def test_top_level_stays_small() -> None:
    modules = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py", "_version.py")]
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, sorted(modules)


@pytest.mark.parametrize("name", ["utils.py", "helpers.py", "misc.py", "common.py"])
def test_no_catch_all_modules(name: str) -> None:
    assert not list(PACKAGE.rglob(name))


def _private_uses_of_a_run(path: Path) -> list[tuple[int, str]]:
    """``run._x`` / ``self.run._x`` / ``self._run._x`` (not dunders) in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
        if name in ("run", "_run"):
            found.append((node.lineno, node.attr))
    return found


def test_a_run_s_companions_use_its_public_interface() -> None:
    """The code that works alongside a kernel Run (session, files, capture, the panel, the
    integrations) uses record/on_tick/on_finish/info/notices/companions, never its privates."""
    holders = [p for folder in ("kernel", "integrations") for p in (PACKAGE / folder).rglob("*.py")]
    # the live panel's modules that take a kernel Run (the compare view's runs are api/ runs)
    holders += [p for p in (PACKAGE / "livepanel").rglob("*.py")
                if any(name.startswith("jupyter_tracker.kernel.run") for _, name in _imports(p))]
    problems = []
    for path in sorted(holders):
        if path.name in ("run.py", "companions.py"):
            continue  # Run itself
        problems += [f"{path.relative_to(PACKAGE)}:{line}: run.{attr}" for line, attr in _private_uses_of_a_run(path)]
    assert not problems, "\n".join(problems)
