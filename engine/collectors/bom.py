"""``BomCollector``: a CycloneDX ML-BOM for the model, validated and compared with the files.

The BOM is the file given with ``--bom`` (``CollectOptions.bom``), else the first of these at the
model root: ``bom.cdx.json``, ``bom.json``, ``sbom.cdx.json``, other ``*.cdx.json`` (by name), and
``sbom.json`` when it is a CycloneDX document (an SPDX ``sbom.json`` is not a CycloneDX BOM and is
left alone). It stays raw JSON: it is validated against the JSON schema of the ``specVersion`` it
declares and read by ``modelward.engine.bom.read``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Final

from modelward.engine.collectors import CollectContext
from modelward.engine.collectors.hashes import Hashes
from modelward.engine.errors import Error
from modelward.engine.facts import BomFacts
from modelward.engine.source import ModelSource, SourceFile, open_regular

MAX_BOM_BYTES: Final = 32 << 20
BOM_NAMES: Final = ("bom.cdx.json", "bom.json", "sbom.cdx.json")
SPDX_OR_CYCLONEDX: Final = "sbom.json"


class BomCollector:
    name = "bom"

    def collect(self, source: ModelSource, ctx: CollectContext) -> BomFacts:
        if ctx.options.bom is not None:
            return self._facts(str(ctx.options.bom), _read_path(ctx.options.bom), ctx)
        for file in bom_candidates(source):
            data = _read_file(file)
            if file.path == SPDX_OR_CYCLONEDX and not _is_cyclonedx(data):
                continue
            return self._facts(file.path, data, ctx)
        return BomFacts(present=False)

    def _facts(self, name: str, data: bytes | None, ctx: CollectContext) -> BomFacts:
        if data is None:
            return _invalid(name, f"larger than {MAX_BOM_BYTES} bytes")
        try:
            raw = data.decode("utf-8")
            document = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            return _invalid(name, f"not a JSON document: {_short(exc)}")
        if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
            return _invalid(name, "not a CycloneDX document (bomFormat is not 'CycloneDX')")
        version = document.get("specVersion")
        if not isinstance(version, str):
            return _invalid(name, "specVersion: missing or not a string", fmt="CycloneDX")
        from modelward.engine.bom.cyclonedx import validate  # only for a model that has a BOM
        from modelward.engine.bom.read import read_bom

        errors = validate(raw, version)
        content = read_bom(document)
        return BomFacts(
            present=True,
            source=name,
            format="CycloneDX",
            spec_version=version,
            valid=not errors,
            errors=errors,
            base_models=content.base_models,
            datasets=content.datasets,
            licenses=content.licenses,
            hash_mismatches=hash_mismatches(content.file_hashes, ctx.sections.get("hashes")),
        )


def bom_candidates(source: ModelSource) -> list[SourceFile]:
    """Root files that may hold the model's BOM, most specific name first."""
    if source.single_file:
        return []
    root = {f.path: f for f in source.files if "/" not in f.path}
    names: list[str] = [n for n in BOM_NAMES if n in root]
    names += sorted(p for p in root if p.endswith(".cdx.json") and p not in names)
    names += [SPDX_OR_CYCLONEDX] if SPDX_OR_CYCLONEDX in root else []
    return [root[n] for n in names]


def is_bom_name(path: str) -> bool:
    """True for a root file name that ``bom_candidates`` would consider."""
    return "/" not in path and (path.endswith(".cdx.json") or path in (*BOM_NAMES, "sbom.json"))


def hash_mismatches(bom_hashes: dict[str, list[str]], hashes: Hashes | None) -> list[str]:
    """Paths whose SHA-256 is none of the digests the BOM records for them.

    Files the BOM names but the model lacks are not mismatches (there is nothing to compare).
    """
    if not bom_hashes:
        return []
    if hashes is None:
        raise Error("the BOM records file hashes but the files could not be hashed")
    return sorted(
        path
        for path, digests in bom_hashes.items()
        if digests and path in hashes.files and hashes.files[path].lower() not in digests
    )


def _read_path(path: Path) -> bytes | None:
    return _read_bounded(lambda: open_regular(path), str(path))


def _read_file(file: SourceFile) -> bytes | None:
    return _read_bounded(file.open, file.path)


def _read_bounded(open_: Callable[[], BinaryIO], label: str) -> bytes | None:
    """The file's bytes, or ``None`` when it is larger than ``MAX_BOM_BYTES``."""
    try:
        with open_() as fp:
            data = fp.read(MAX_BOM_BYTES + 1)
    except OSError as exc:
        raise Error(f"{label}: cannot read the BOM: {exc.strerror or exc}") from None
    return data if len(data) <= MAX_BOM_BYTES else None


def _is_cyclonedx(data: bytes | None) -> bool:
    if data is None:
        return False
    try:
        document: Any = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and document.get("bomFormat") == "CycloneDX"


def _invalid(name: str, error: str, fmt: str | None = None) -> BomFacts:
    return BomFacts(
        present=True,
        source=name,
        format="CycloneDX" if fmt else None,
        valid=False,
        errors=[error],
    )


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
