"""Licences for a generated BOM: CycloneDX licence entries and a Python package's declared licence.

A licence is written as ``{"license": {"id": <SPDX id>}}`` when it is (case-insensitively) an
SPDX id, as ``{"expression": ...}`` when it is an SPDX expression, else as
``{"license": {"name": ...}}``; never with both ``id`` and ``name`` (that fails validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path
from typing import Any, Final

from cyclonedx.spdx import fixup_id, is_expression

from modelward.engine.errors import Error
from modelward.engine.source import open_regular

MAX_METADATA_BYTES: Final = 1 << 20
MAX_LICENSE_FIELD_CHARS: Final = 100
#: ``License ::`` trove classifiers (last segment) with an SPDX id.
CLASSIFIER_IDS: Final = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "Apache Software License": "Apache-2.0",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3.0-or-later",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3.0-or-later",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
}


def license_entries(texts: list[str], acknowledgement: str = "declared") -> list[dict[str, Any]]:
    """A CycloneDX ``licenses`` array for ``texts`` (an expression only when it is alone)."""
    if len(texts) == 1 and fixup_id(texts[0].strip()) is None and _is_compound(texts[0]):
        return [{"expression": texts[0].strip(), "acknowledgement": acknowledgement}]
    entries: list[dict[str, Any]] = []
    for text in texts:
        spdx = fixup_id(text.strip())
        key, value = ("id", spdx) if spdx else ("name", text.strip())
        entries.append({"license": {key: value, "acknowledgement": acknowledgement}})
    return entries


def _is_compound(text: str) -> bool:
    return " " in text.strip() and is_expression(text.strip())


@dataclass(frozen=True)
class PackageInfo:
    """What a ``*.dist-info/METADATA`` file says about the package that shipped a model."""

    name: str
    version: str | None
    licenses: list[str] = field(default_factory=list)
    #: where the licence came from: License-Expression, License or Classifier
    license_field: str | None = None

    @property
    def purl(self) -> str:
        name = self.name.lower().replace("_", "-").replace(".", "-")
        return f"pkg:pypi/{name}@{self.version}" if self.version else f"pkg:pypi/{name}"


def read_package_metadata(path: Path) -> PackageInfo:
    """Parse a core-metadata file; raise ``Error`` when it cannot be read or has no ``Name``."""
    try:
        with open_regular(path) as fp:
            data = fp.read(MAX_METADATA_BYTES)
    except OSError as exc:
        raise Error(f"{path}: cannot read package metadata: {exc.strerror or exc}") from None
    return parse_package_metadata(data.decode("utf-8", errors="replace"), str(path))


def parse_package_metadata(text: str, label: str = "METADATA") -> PackageInfo:
    headers = HeaderParser().parsestr(text)
    name = (headers.get("Name") or "").strip()
    if not name:
        raise Error(f"{label}: not package metadata (no Name field)")
    version = (headers.get("Version") or "").strip() or None
    licenses, source = _declared_licenses(
        expression=(headers.get("License-Expression") or "").strip(),
        license_=(headers.get("License") or "").strip(),
        classifiers=[str(c) for c in headers.get_all("Classifier") or []],
    )
    return PackageInfo(name=name, version=version, licenses=licenses, license_field=source)


def _declared_licenses(
    expression: str, license_: str, classifiers: list[str]
) -> tuple[list[str], str | None]:
    """License-Expression; else License when it is an SPDX id or expression; else the licence
    classifiers; else a short one-line License as a licence name."""
    if expression:
        return [expression], "License-Expression"
    usable = (
        bool(license_)
        and "\n" not in license_
        and len(license_) <= MAX_LICENSE_FIELD_CHARS
        and license_.upper() not in ("UNKNOWN", "NONE")
    )
    if usable and (fixup_id(license_) or is_expression(license_)):
        return [license_], "License"
    found: list[str] = []
    for classifier in classifiers:
        parts = [p.strip() for p in classifier.split("::")]
        if len(parts) < 2 or parts[0] != "License" or parts[-1] == "OSI Approved":
            continue
        text = CLASSIFIER_IDS.get(parts[-1], parts[-1])
        if text not in found:
            found.append(text)
    if found:
        return found, "Classifier"
    return ([license_], "License") if usable else ([], None)
