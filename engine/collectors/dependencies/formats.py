"""The manifest formats besides requirements files, read statically (nothing is executed).

- ``pyproject.toml``: ``[project] dependencies`` and ``optional-dependencies``,
  ``[build-system] requires``, Poetry dependency tables and sources, ``[[tool.uv.index]]``;
- ``setup.cfg``: ``[options] install_requires``/``setup_requires``, ``[options.extras_require]``;
- ``setup.py``: the literal lists given to ``setup(install_requires=..., ...)`` (directly or
  through a module-level name), found with ``ast``; anything computed is reported, not run;
- ``environment.yml`` (conda): conda packages and the ``pip:`` list (requirement lines);
- ``Pipfile``: ``[packages]``, ``[dev-packages]`` and ``[[source]]``.

TOML and YAML parsers give no line numbers: the line is the first one that holds the text.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib
from collections.abc import Iterable
from typing import Any, Final

from modelward.engine.collectors.dependencies.confusable import normalize
from modelward.engine.collectors.dependencies.requirements import (
    Collected,
    Include,
    exact_version,
    parse_lines,
    requirement_package,
)
from modelward.engine.facts import DependencyPackage, PackageIndex

SETUP_KEYWORDS: Final = ("install_requires", "setup_requires", "extras_require", "tests_require")
#: Conda entries that are the interpreter and installer, not packages a model needs.
CONDA_TOOLS: Final = frozenset({"python", "pip"})
_CONDA: Final = re.compile(r"^(?:[\w.-]+::)?([A-Za-z0-9_][A-Za-z0-9_.-]*)\s*(.*)$")
_POETRY_EXACT: Final = re.compile(r"^=?=?\s*\d[\w.+!-]*$")


def line_of(text: str, needle: str) -> int | None:
    """The first line of ``text`` holding ``needle`` (1-based), or None."""
    at = text.find(needle) if needle else -1
    return text.count("\n", 0, at) + 1 if at >= 0 else None


def _requirements(items: Iterable[Any], text: str, manifest: str, out: Collected) -> None:
    for item in items:
        if isinstance(item, str) and item.strip():
            package = requirement_package(item.strip(), manifest, line_of(text, item), out)
            if package is not None:
                out.add(package)


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_pyproject(text: str, manifest: str, out: Collected) -> None:
    doc = tomllib.loads(text)
    project = _table(doc.get("project"))
    _requirements(_list(project.get("dependencies")), text, manifest, out)
    for group in _table(project.get("optional-dependencies")).values():
        _requirements(_list(group), text, manifest, out)
    _requirements(_list(_table(doc.get("build-system")).get("requires")), text, manifest, out)
    tool = _table(doc.get("tool"))
    poetry = _table(tool.get("poetry"))
    tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
    tables += [_table(g).get("dependencies") for g in _table(poetry.get("group")).values()]
    for table in tables:
        _mapping(_table(table), text, manifest, out)
    for source in _list(poetry.get("source")):
        primary = _table(source).get("priority") in {"primary", "default"}
        _index(_table(source).get("url"), primary or _table(source).get("default") is True,
               text, manifest, out)  # fmt: skip
    for index in _list(_table(tool.get("uv")).get("index")):
        _index(_table(index).get("url"), _table(index).get("default") is True, text, manifest, out)


def parse_pipfile(text: str, manifest: str, out: Collected) -> None:
    doc = tomllib.loads(text)
    for i, source in enumerate(_list(doc.get("source"))):
        _index(_table(source).get("url"), i == 0, text, manifest, out)
    for key in ("packages", "dev-packages"):
        _mapping(_table(doc.get(key)), text, manifest, out)


def _index(url: Any, primary: bool, text: str, manifest: str, out: Collected) -> None:
    if isinstance(url, str) and url:
        kind = "index-url" if primary else "extra-index-url"
        out.indexes.append(
            PackageIndex(url=url, kind=kind, manifest=manifest, line=line_of(text, url))
        )


def _mapping(table: dict[str, Any], text: str, manifest: str, out: Collected) -> None:
    """A Poetry/Pipfile table: name -> "spec" | {version, git, rev, url, path, extras, ...}."""
    for name, spec in table.items():
        if name.lower() == "python" or not isinstance(name, str):
            continue
        entry = spec if isinstance(spec, dict) else {"version": spec}
        version = str(entry.get("version") or "")
        specifier = "" if version.strip() == "*" else version.strip()
        url = _direct(entry)
        exact = bool(_POETRY_EXACT.match(specifier)) and "*" not in specifier
        rev = str(entry.get("rev") or entry.get("ref") or "")
        pinned = bool(re.fullmatch(r"[0-9a-fA-F]{40}", rev)) if url else exact
        extras = [e for e in _list(entry.get("extras")) if isinstance(e, str)]
        markers = entry.get("markers")
        out.add(
            DependencyPackage(
                name=name, normalized=normalize(name), specifier=specifier, pinned=pinned,
                hashed=False, url=url, manifest=manifest, line=line_of(text, name),
                extras=sorted(extras), markers=markers if isinstance(markers, str) else None,
            )
        )  # fmt: skip


def _direct(entry: dict[str, Any]) -> str | None:
    for key, prefix in (("git", "git+"), ("hg", "hg+"), ("url", ""), ("path", ""), ("file", "")):
        value = entry.get(key)
        if isinstance(value, str) and value:
            return prefix + value if prefix and not value.startswith(prefix) else value
    return None


def parse_setup_cfg(text: str, manifest: str, out: Collected) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    values: list[str] = []
    if parser.has_section("options"):
        for key in SETUP_KEYWORDS:
            values += parser.get("options", key, fallback="").splitlines()
    for section in ("options.extras_require", "options.tests_require"):
        if parser.has_section(section):
            for _, value in parser.items(section):
                values += value.splitlines()
    lines = (v.split(" #", 1)[0].strip() for v in values)
    _requirements((v for v in lines if v and not v.startswith("#")), text, manifest, out)


def parse_setup_py(text: str, manifest: str, out: Collected) -> None:
    tree = ast.parse(text, filename=manifest)
    names = _module_literals(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _callee(node.func) == "setup"):
            continue
        for keyword in node.keywords:
            if keyword.arg not in SETUP_KEYWORDS:
                continue
            value = keyword.value
            if isinstance(value, ast.Name) and value.id in names:
                value = names[value.id]
            items = _literal_strings(value)
            if items is None:
                out.finding(
                    "dependencies.setup_py.dynamic",
                    "info",
                    manifest,
                    keyword.lineno,
                    f"{keyword.arg} is computed; it was not read (never executed)",
                )
                continue
            for item, line in items:
                package = requirement_package(item, manifest, line, out)
                if package is not None:
                    out.add(package)


def _callee(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _module_literals(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level ``NAME = <expr>`` assignments (the last one wins)."""
    found: dict[str, ast.expr] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = stmt.value
    return found


def _literal_strings(node: ast.expr) -> list[tuple[str, int]] | None:
    """The strings of a literal list/tuple (or dict of them), with lines; None if computed."""
    if isinstance(node, ast.Dict):
        values: list[tuple[str, int]] = []
        for value in node.values:
            inner = _literal_strings(value)
            if inner is None:
                return None
            values += inner
        return values
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        items = [(e.value, e.lineno) for e in node.elts if isinstance(e, ast.Constant)]
        if len(items) != len(node.elts) or not all(isinstance(v, str) for v, _ in items):
            return None
        return [(str(v), line) for v, line in items]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [(line, node.lineno) for line in node.value.splitlines() if line.strip()]
    return None


def parse_environment(text: str, manifest: str, out: Collected, include: Include) -> None:
    import yaml

    doc = yaml.safe_load(text)
    for item in _list(_table(doc).get("dependencies")):
        if isinstance(item, dict):
            pip = [str(x) for x in _list(item.get("pip")) if isinstance(x, str | int | float)]
            numbered = [(line_of(text, x) or 0, x.strip()) for x in pip if x.strip()]
            parse_lines(numbered, manifest, out, include)
        elif isinstance(item, str) and item.strip():
            _conda(item.strip(), manifest, line_of(text, item), out)


def _conda(item: str, manifest: str, line: int | None, out: Collected) -> None:
    """A conda match spec: ``[channel::]name[ op version[=build]]``; ``=V``/``==V`` is a pin."""
    match = _CONDA.match(item)
    if match is None:
        out.finding("dependencies.unparsed", "low", manifest, line, f"not a conda spec: {item!r}")
        return
    name, spec = match.group(1), match.group(2).replace(" ", "")
    if name.lower() in CONDA_TOOLS:
        return
    version = spec.removeprefix("==").removeprefix("=").split("=", 1)[0]
    single = spec.startswith("=") and not re.search(r"[<>!,|*]", spec) and bool(version)
    out.add(
        DependencyPackage(
            name=name, normalized=normalize(name), ecosystem="conda", specifier=spec,
            pinned=single, manifest=manifest, line=line,
        )
    )  # fmt: skip


def conda_version(package: DependencyPackage) -> str | None:
    """The exact version a pinned conda spec names."""
    if not package.pinned:
        return None
    return exact_version("==" + package.specifier.lstrip("=").split("=", 1)[0])
