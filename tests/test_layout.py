"""The package's rooms: a module uses another package's public names, never its private
modules (``analytics.features._snapshots`` is for ``analytics.features`` alone)."""

import ast
from pathlib import Path

import analytics

PACKAGE = Path(analytics.__file__).parent


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)


def test_no_module_reaches_into_another_packages_private_modules():
    reach_ins = []
    for path in sorted(PACKAGE.rglob("*.py")):
        home = path.relative_to(PACKAGE.parent).with_suffix("").parts  # ("analytics", "rootcause", "_workshop")
        for module, line in _imports(path):
            parts = module.split(".")
            if parts[0] != "analytics":
                continue
            private = next((i for i, part in enumerate(parts) if part.startswith("_")), None)
            # a private module may be imported only from inside the package that holds it
            if private is not None and tuple(parts[:private]) != home[:private]:
                reach_ins.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not reach_ins, "\n".join(reach_ins)
