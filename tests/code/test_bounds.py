"""Hostile code is bounded: deep nesting and huge literals are findings, never crashes or hangs."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelward.engine.collectors.code import files as code_files
from modelward.engine.collectors.code.python import analyse_python
from tests.code import repos
from tests.code.conftest import code_of, decision_of

HOSTILE = {
    "nested-parentheses": "x = " + "(" * 100_000 + "1" + ")" * 100_000,
    "unary-chain": "x = " + "-" * 100_000 + "1",
    "long-sum": "x = 1" + " + 1" * 100_000,
    "attribute-chain": "x = a" + ".b" * 100_000,
    "nested-lambdas": "f = " + "lambda: " * 100_000 + "1",
    "null-byte": "x = 1\0",
    "nested-lists": "x = " + "[" * 150 + "]" * 150 + "\nimport os\nos.system('id')",
    "deep-but-parsable": "x = " + " + ".join(["chr(1)"] * 900),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_python_is_a_finding_or_analysed(name: str) -> None:
    result = analyse_python(HOSTILE[name], "evil.py")
    if not result.parsed:
        assert [f.id for f in result.findings] == ["code.parse_error"]
        assert result.findings[0].severity == "high"
    else:
        assert result.findings  # what parses is analysed (here: a process, a chr chain)


def test_huge_literal_is_cut_by_the_size_limit(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    with open(root / "modeling_x.py", "w") as fp:
        fp.write("BLOB = '")
        fp.write("A" * (50 << 20))
        fp.write("'\n")
    (root / "config.json").write_text('{"auto_map": {"AutoModel": "modeling_x.X"}}')
    code = code_of(root)
    (limit,) = code.findings
    assert limit.id == "code.limit" and limit.severity == "high"
    assert f"larger than {code_files.MAX_FILE_BYTES} bytes" in limit.message
    assert not code.complete and not code.files[0].parsed
    assert decision_of(root).outcome == "deny"


def test_file_count_limit_is_a_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code_files, "MAX_FILES", 3)
    root = repos.write(tmp_path / "m", {f"m{i}.py": "x = 1\n" for i in range(5)})
    code = code_of(root)
    assert not code.complete
    assert [f.file for f in code.findings if f.id == "code.limit"] == ["m3.py", "m4.py"]


def test_notebook_that_is_not_json_is_a_finding(tmp_path: Path) -> None:
    root = repos.write(tmp_path / "m", {"a.ipynb": "{not json"})
    code = code_of(root)
    assert [f.id for f in code.findings] == ["code.parse_error"] and not code.complete


def test_hostile_auto_map_values_are_findings_not_errors(tmp_path: Path) -> None:
    auto_map = {"AutoModel": "no_class", "AutoConfig": "../../etc/passwd.X", "Other": 7}
    root = repos.write(tmp_path / "m", {"config.json": {"auto_map": auto_map}})
    code = code_of(root)
    assert {f.id for f in code.findings} == {"code.remote.invalid"}
    assert len(code.remote_code.auto_map) == 2
