"""Finding the dependency manifests of a model and reading each, with bounds.

Manifests are found anywhere in the model by name: ``requirements*.txt`` (and ``*.txt`` in a
``requirements/`` folder), ``pyproject.toml``, ``setup.cfg``, ``setup.py``,
``environment.yml``/``.yaml``, ``conda.yml``/``.yaml`` (MLflow models) and ``Pipfile``.
``-r``/``-c`` includes are followed to files of the model only, at most ``MAX_INCLUDE_DEPTH``
deep, each file once (so include cycles end). A file larger than ``MAX_MANIFEST_BYTES`` is read
up to that size, and a limit finding says so; a manifest that does not parse is a finding.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Final

from modelward.engine.collectors.dependencies import formats
from modelward.engine.collectors.dependencies.names import manifest_kind
from modelward.engine.collectors.dependencies.requirements import Collected, parse_requirements
from modelward.engine.facts import DependencyManifest
from modelward.engine.source import ModelSource, SourceFile

MAX_MANIFEST_BYTES: Final = 1 << 20
MAX_MANIFESTS: Final = 256
MAX_INCLUDE_DEPTH: Final = 8


class ManifestReader:
    """Reads every manifest of one source into a ``Collected``."""

    def __init__(self, source: ModelSource) -> None:
        self.files = {f.path: f for f in source.files}
        self.out = Collected()
        self.read: set[str] = set()
        self.depth: dict[str, int] = {}

    def read_all(self) -> Collected:
        for path in sorted(self.files):
            kind = manifest_kind(path)
            if kind is not None:
                self.read_manifest(path, kind, 0)
        return self.out

    def read_manifest(self, path: str, kind: str, depth: int) -> None:
        if path in self.read:
            return
        if len(self.read) >= MAX_MANIFESTS:
            self.out.finding(
                "dependencies.limit",
                "high",
                path,
                None,
                f"more than {MAX_MANIFESTS} manifests; this one was not read",
            )
            return
        self.read.add(path)
        self.depth[path] = depth
        self.out.manifests.append(DependencyManifest.model_validate({"path": path, "kind": kind}))
        text = self._text(self.files[path])
        if text is None:
            return
        try:
            self._parse(kind, text, path)
        except Exception as exc:  # TOML/YAML/INI/Python syntax errors, deep nesting
            self.out.finding(
                "dependencies.unparsed",
                "medium",
                path,
                None,
                f"the {kind} manifest could not be parsed: {_reason(exc)}",
            )

    def _parse(self, kind: str, text: str, path: str) -> None:
        parsers: dict[str, Callable[[str, str, Collected], None]] = {
            "pyproject": formats.parse_pyproject, "setup.cfg": formats.parse_setup_cfg,
            "setup.py": formats.parse_setup_py, "pipfile": formats.parse_pipfile,
        }  # fmt: skip
        if kind == "requirements":
            parse_requirements(text, path, self.out, self.include)
        elif kind == "environment":
            formats.parse_environment(text, path, self.out, self.include)
        else:
            parsers[kind](text, path, self.out)

    def _text(self, file: SourceFile) -> str | None:
        try:
            with file.open() as fp:
                data = fp.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            self.out.finding(
                "dependencies.unparsed",
                "medium",
                file.path,
                None,
                f"the manifest could not be read: {exc}",
            )
            return None
        if len(data) > MAX_MANIFEST_BYTES:
            self.out.finding(
                "dependencies.limit",
                "high",
                file.path,
                None,
                f"the manifest is larger than {MAX_MANIFEST_BYTES} bytes; only the "
                "first part was read",
            )
            data = data[: data.rfind(b"\n", 0, MAX_MANIFEST_BYTES) + 1]
        return data.decode("utf-8", errors="replace").removeprefix("\ufeff")

    def include(self, manifest: str, line: int, target: str) -> None:
        """``-r``/``-c target`` in ``manifest``: read it when it is a file of the model."""
        if "://" in target:
            self.out.finding(
                "dependencies.include.remote",
                "medium",
                manifest,
                line,
                f"includes requirements from {target}, which were not read",
            )
            return
        path = posixpath.normpath(posixpath.join(posixpath.dirname(manifest), target))
        if target.startswith(("/", "~")) or path == ".." or path.startswith("../"):
            self.out.finding(
                "dependencies.include.outside_root",
                "medium",
                manifest,
                line,
                f"includes {target}, outside the model; it was not read",
            )
        elif path not in self.files:
            self.out.finding(
                "dependencies.include.missing",
                "low",
                manifest,
                line,
                f"includes {target}, which the model does not contain",
            )
        elif self.depth[manifest] + 1 > MAX_INCLUDE_DEPTH:
            self.out.finding(
                "dependencies.limit",
                "high",
                manifest,
                line,
                f"includes nested deeper than {MAX_INCLUDE_DEPTH}; {target} was not read",
            )
        else:
            self.read_manifest(path, "requirements", self.depth[manifest] + 1)


def _reason(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__).splitlines()[0][:300]
