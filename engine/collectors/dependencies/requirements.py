"""Requirement lines: one PEP 508 requirement or direct reference, and pip requirements files.

A requirements file is read the way pip reads it: ``\\`` joins lines, ``#`` after whitespace
starts a comment, option lines (``-r``/``-c`` includes, ``--index-url``, ``--extra-index-url``,
``--find-links``, ``--trusted-host``, ``-e``) are understood, and ``--hash`` options attach to
their requirement. Includes are followed only to files of the model itself (``Includes``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final, Literal

from packaging.requirements import InvalidRequirement, Requirement

from modelward.engine.collectors.dependencies.confusable import normalize
from modelward.engine.facts import DependencyManifest, DependencyPackage, Finding, PackageIndex

#: A logical line longer than this is not parsed (a limit finding says so).
MAX_LINE_CHARS: Final = 8192
#: Packages kept per model; more is a limit finding.
MAX_PACKAGES: Final = 10_000
_OPTION_START: Final = re.compile(r"\s--?[A-Za-z]")
_HASH: Final = re.compile(r"--hash(?:=|\s+)(\S+)")
_VCS_COMMIT: Final = re.compile(r"@([0-9a-fA-F]{40})(?:[#&]|$)")
_URL_HASH: Final = re.compile(r"#(?:.*&)?(sha256|sha384|sha512)=[0-9a-fA-F]+")
_EGG: Final = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_ARCHIVE: Final = re.compile(r"([A-Za-z0-9][A-Za-z0-9._]*?)-\d[^/]*\.(?:whl|tar\.gz|zip|tar\.bz2)$")
IndexKind = Literal["index-url", "extra-index-url", "find-links", "trusted-host"]
INDEX_OPTIONS: Final[dict[str, IndexKind]] = {
    "-i": "index-url", "--index-url": "index-url", "--extra-index-url": "extra-index-url",
    "-f": "find-links", "--find-links": "find-links", "--trusted-host": "trusted-host",
}  # fmt: skip
INCLUDE_OPTIONS: Final = frozenset({"-r", "--requirement", "-c", "--constraint"})
EDITABLE_OPTIONS: Final = frozenset({"-e", "--editable"})


@dataclass
class Collected:
    """What the manifests of one model say, gathered as they are read."""

    manifests: list[DependencyManifest] = field(default_factory=list)
    packages: list[DependencyPackage] = field(default_factory=list)
    indexes: list[PackageIndex] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def finding(self, id_: str, severity: str, manifest: str, line: int | None, msg: str) -> None:
        self.findings.append(
            Finding.model_validate(
                {"id": id_, "severity": severity, "file": manifest, "line": line, "message": msg}
            )
        )

    def add(self, package: DependencyPackage) -> None:
        if len(self.packages) < MAX_PACKAGES:
            self.packages.append(package)
        elif len(self.packages) == MAX_PACKAGES:
            self.packages.append(package)
            self.finding(
                "dependencies.limit",
                "high",
                package.manifest,
                package.line,
                f"more than {MAX_PACKAGES} packages; the rest were not read",
            )


#: Called with (manifest, line, target) for ``-r``/``-c``; reads the included file.
Include = Callable[[str, int, str], None]


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments removed."""
    start, parts = 0, list[str]()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not parts:
            start = number
        if raw.endswith("\\") and uncommented(raw) == raw:
            parts.append(raw[:-1])
            continue
        parts.append(raw)
        line = uncommented("".join(parts)).strip()
        parts = []
        if line:
            yield start, line
    if parts and (line := uncommented("".join(parts)).strip()):
        yield start, line


def uncommented(line: str) -> str:
    """``line`` without its comment: from a ``#`` at the start or after whitespace (as pip)."""
    at = line.find("#")
    while at != -1:
        if at == 0 or line[at - 1].isspace():
            return line[:at]
        at = line.find("#", at + 1)
    return line


def parse_requirements(
    text: str, manifest: str, out: Collected, include: Include | None = None
) -> None:
    """Read a requirements file's text into ``out``."""
    parse_lines(logical_lines(text), manifest, out, include)


def parse_lines(
    lines: Iterable[tuple[int, str]], manifest: str, out: Collected, include: Include | None
) -> None:
    """Read numbered requirement/option lines (a requirements file, a conda ``pip:`` list)."""
    for number, line in lines:
        if len(line) > MAX_LINE_CHARS:
            out.finding(
                "dependencies.limit",
                "high",
                manifest,
                number,
                f"a line longer than {MAX_LINE_CHARS} characters was not read",
            )
        elif line.startswith("-"):
            _option(line, manifest, number, out, include)
        else:
            requirement, options = _split_options(line)
            hashes = _HASH.findall(options)
            out_pkg = requirement_package(requirement, manifest, number, out, hashed=bool(hashes))
            if out_pkg is not None:
                out.add(out_pkg)


def _split_options(line: str) -> tuple[str, str]:
    match = _OPTION_START.search(line)
    return (line[: match.start()].strip(), line[match.start() :]) if match else (line, "")


def _option(line: str, manifest: str, number: int, out: Collected, include: Include | None) -> None:
    try:
        tokens = shlex.split(line)
    except ValueError:
        tokens = line.split()
    name, value = _name_value(tokens)
    if name in INDEX_OPTIONS and value:
        out.indexes.append(
            PackageIndex(url=value, kind=INDEX_OPTIONS[name], manifest=manifest, line=number)
        )
    elif name in INCLUDE_OPTIONS and value:
        if include is not None:
            include(manifest, number, value)
    elif name in EDITABLE_OPTIONS and value:
        package = requirement_package(value, manifest, number, out)
        if package is not None:
            out.add(package)


def _name_value(tokens: list[str]) -> tuple[str, str]:
    """The option and its value from ``--opt=v``, ``--opt v``, ``-o v`` or ``-ov``."""
    if not tokens:
        return "", ""
    first = tokens[0]
    if first.startswith("--") and "=" in first:
        name, value = first.split("=", 1)
        return name, value
    if not first.startswith("--") and len(first) > 2:
        return first[:2], first[2:].lstrip("=")
    return first, tokens[1] if len(tokens) > 1 else ""


def requirement_package(
    text: str, manifest: str, line: int | None, out: Collected, *, hashed: bool = False
) -> DependencyPackage | None:
    """A PEP 508 requirement or a direct reference (URL, VCS URL, path); None if unparsable."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        if _is_reference(text):
            return _reference(text, manifest, line, hashed)
        out.finding("dependencies.unparsed", "low", manifest, line,
                    f"not a requirement: {text[:200]!r} ({exc})")  # fmt: skip
        return None
    specifier = str(req.specifier)
    url = req.url
    return DependencyPackage(
        name=req.name, normalized=normalize(req.name), specifier=specifier,
        pinned=_url_pinned(url) if url else exact_version(specifier) is not None,
        hashed=hashed or bool(url and _URL_HASH.search(url)), url=url, manifest=manifest,
        line=line, extras=sorted(req.extras), markers=str(req.marker) if req.marker else None,
    )  # fmt: skip


def exact_version(specifier: str) -> str | None:
    """The one version an ``==V``/``===V`` specifier allows (no wildcard), else None."""
    clauses = [c.strip() for c in specifier.split(",") if c.strip()]
    if len(clauses) != 1:
        return None
    match = re.fullmatch(r"(===?)\s*([^*\s]+)", clauses[0])
    return match.group(2) if match else None


def _is_reference(text: str) -> bool:
    return "://" in text or text.startswith((".", "/", "~", "file:")) or bool(_ARCHIVE.search(text))


def _reference(text: str, manifest: str, line: int | None, hashed: bool) -> DependencyPackage:
    name = _reference_name(text)
    return DependencyPackage(
        name=name, normalized=normalize(name), pinned=_url_pinned(text),
        hashed=hashed or bool(_URL_HASH.search(text)), url=text, manifest=manifest, line=line,
    )  # fmt: skip


def _reference_name(text: str) -> str:
    if egg := _EGG.search(text):
        return egg.group(1)
    if archive := _ARCHIVE.search(text.split("#", 1)[0]):
        return archive.group(1)
    tail = text.split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return tail.split("@", 1)[0].removesuffix(".git") or text


def _url_pinned(url: str) -> bool:
    """A VCS URL at a full commit, or an archive URL with a hash, installs one exact thing."""
    return bool(_VCS_COMMIT.search(url) or _URL_HASH.search(url))
