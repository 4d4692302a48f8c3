"""The package's rooms: a module uses another package's public names, never its private
modules (``analytics.features._snapshots`` is for ``analytics.features`` alone)."""

import ast
import importlib
import pkgutil
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


def _public_modules():
    for info in pkgutil.walk_packages(analytics.__path__, "analytics."):
        name = info.name
        # the command line's public face is `client-health --help`, tested in test_cli.py
        if not any(part.startswith("_") for part in name.split(".")) and name != "analytics.cli":
            yield importlib.import_module(name)


def test_every_public_module_says_what_it_exports():
    assert [module.__name__ for module in _public_modules() if not hasattr(module, "__all__")] == []


def test_every_public_function_and_class_has_an_example():
    # pytest --doctest-modules runs them; a constant cannot carry a docstring of its own
    missing = set()
    for module in [analytics, *_public_modules()]:
        for name in module.__all__:
            thing = getattr(module, name)
            if isinstance(thing, type):
                doc = vars(thing).get("__doc__")
            elif callable(thing):
                doc = thing.__doc__
            else:
                continue
            if ">>>" not in (doc or ""):
                missing.add(f"{module.__name__}.{name}")
    assert not missing, "no Example in the docstrings of " + ", ".join(sorted(missing))


LONG = 350  # lines from which a module must say why it holds what it holds


def test_a_long_module_says_why_it_is_long():
    unexplained = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG and "Long because" not in (ast.get_docstring(ast.parse(text)) or ""):
            unexplained.append(f"{path.relative_to(PACKAGE.parent)} ({text.count(chr(10))} lines)")
    assert not unexplained, "no 'Long because' in the docstrings of " + ", ".join(unexplained)
