"""Reading each manifest format, statically and within bounds."""

from __future__ import annotations

from pathlib import Path

from modelward.engine.collectors.dependencies.manifests import (
    MAX_INCLUDE_DEPTH,
    MAX_MANIFEST_BYTES,
)
from modelward.engine.collectors.dependencies.requirements import MAX_PACKAGES
from modelward.engine.facts import DependenciesFacts, DependencyPackage

from .conftest import dependencies, write_model

REQUIREMENTS = """\
--extra-index-url https://packages.example.net/simple
-i https://pypi.org/simple
--trusted-host packages.example.net
torch==2.1.0 \\
    --hash=sha256:0123456789abcdef
transfomers>=4.0  # a typo
numpy
git+https://github.com/org/repo.git@main#egg=repo
git+https://github.com/org/pinned.git@0123456789abcdef0123456789abcdef01234567#egg=pinned
requests[security]>=2 ; python_version >= "3.8"
-e ./local_pkg
--find-links ./wheels
"""


def package(facts: DependenciesFacts, name: str) -> DependencyPackage:
    return next(p for p in facts.packages if p.name == name)


def test_requirements_file(tmp_path: Path) -> None:
    facts = dependencies(write_model(tmp_path / "m", {"requirements.txt": REQUIREMENTS}))
    assert [(m.path, m.kind) for m in facts.manifests] == [("requirements.txt", "requirements")]
    torch = package(facts, "torch")
    assert (torch.specifier, torch.pinned, torch.hashed, torch.line) == ("==2.1.0", True, True, 4)
    typo = package(facts, "transfomers")
    assert (typo.pinned, typo.hashed, typo.line) == (False, False, 6)
    assert package(facts, "numpy").specifier == ""
    vcs = package(facts, "repo")
    assert vcs.url == "git+https://github.com/org/repo.git@main#egg=repo" and not vcs.pinned
    assert package(facts, "pinned").pinned
    requests = package(facts, "requests")
    assert requests.extras == ["security"] and requests.markers == 'python_version >= "3.8"'
    assert package(facts, "local_pkg").url == "./local_pkg"
    assert [(i.kind, i.url, i.line) for i in facts.indexes] == [
        ("extra-index-url", "https://packages.example.net/simple", 1),
        ("index-url", "https://pypi.org/simple", 2),
        ("trusted-host", "packages.example.net", 3),
        ("find-links", "./wheels", 12),
    ]
    assert [c.name for c in facts.confusables] == ["transfomers"]
    assert facts.findings == []
    assert not facts.vulnerabilities_checked


def test_includes_stay_inside_the_model(tmp_path: Path) -> None:
    root = write_model(
        tmp_path / "m",
        {
            "requirements.txt": "-r reqs/base.txt\n-r ../outside.txt\n-r missing.txt\n"
            "-c https://example.net/constraints.txt\n",
            "reqs/base.txt": "-r ../requirements.txt\nscipy==1.11.0\n",
        },
    )
    (tmp_path / "outside.txt").write_text("evil-package\n")
    facts = dependencies(root)
    assert [m.path for m in facts.manifests] == ["requirements.txt", "reqs/base.txt"]
    assert [p.name for p in facts.packages] == ["scipy"]
    assert sorted(f.id for f in facts.findings) == [
        "dependencies.include.missing",
        "dependencies.include.outside_root",
        "dependencies.include.remote",
    ]


def test_deep_include_chain_is_bounded(tmp_path: Path) -> None:
    files = {f"deps/part-{i}.txt": f"-r part-{i + 1}.txt\npkg{i}==1\n" for i in range(40)}
    files["requirements.txt"] = "-r deps/part-0.txt\n"
    facts = dependencies(write_model(tmp_path / "m", files))
    assert len(facts.manifests) == 1 + MAX_INCLUDE_DEPTH
    assert [(f.id, f.file) for f in facts.findings] == [
        ("dependencies.limit", f"deps/part-{MAX_INCLUDE_DEPTH - 1}.txt")
    ]


def test_include_cycle_ends(tmp_path: Path) -> None:
    root = write_model(
        tmp_path / "m",
        {
            "requirements.txt": "-r requirements-dev.txt\na==1\n",
            "requirements-dev.txt": "-r requirements.txt\nb==1\n",
        },
    )
    facts = dependencies(root)
    assert sorted(p.name for p in facts.packages) == ["a", "b"]
    assert facts.findings == []


def test_huge_manifest_is_read_up_to_the_limit(tmp_path: Path) -> None:
    line = "# padding padding padding padding padding padding padding padding padding\n"
    body = (
        line * (MAX_MANIFEST_BYTES // len(line) + 100) + "--extra-index-url https://evil.example/\n"
    )
    facts = dependencies(write_model(tmp_path / "m", {"requirements.txt": "torch\n" + body}))
    assert [f.id for f in facts.findings] == ["dependencies.limit"]
    assert [p.name for p in facts.packages] == ["torch"]
    assert facts.indexes == []  # beyond the limit: the finding says the rest is unknown


def test_package_count_is_bounded(tmp_path: Path) -> None:
    body = "".join(f"pkg{i}==1\n" for i in range(MAX_PACKAGES + 50))
    facts = dependencies(write_model(tmp_path / "m", {"requirements.txt": body}))
    assert len(facts.packages) == MAX_PACKAGES + 1
    assert [f.id for f in facts.findings] == ["dependencies.limit"]


def test_long_line_and_garbage_are_findings(tmp_path: Path) -> None:
    body = "x" * 10_000 + "\n!!not a requirement!!\nok==1\n"
    facts = dependencies(write_model(tmp_path / "m", {"requirements.txt": body}))
    assert [f.id for f in facts.findings] == ["dependencies.limit", "dependencies.unparsed"]
    assert [p.name for p in facts.packages] == ["ok"]


PYPROJECT = """\
[project]
name = "demo"
dependencies = ["tokenizers>=0.15", "safetensor==0.4.0"]
[project.optional-dependencies]
gpu = ["bitsandbytes==0.43.1"]
[build-system]
requires = ["setuptools>=68"]
[tool.poetry.dependencies]
python = "^3.10"
pandas = "2.2.2"
datasets = {git = "https://github.com/org/datasets", rev = "COMMIT"}
[[tool.poetry.source]]
name = "internal"
url = "https://pkgs.example.net/simple"
priority = "supplemental"
[[tool.uv.index]]
url = "https://mirror.example.net/simple"
default = true
""".replace("COMMIT", "0123456789abcdef0123456789abcdef01234567")


def test_pyproject(tmp_path: Path) -> None:
    facts = dependencies(write_model(tmp_path / "m", {"pyproject.toml": PYPROJECT}))
    names = {p.name: p for p in facts.packages}
    assert set(names) == {
        "tokenizers",
        "safetensor",
        "bitsandbytes",
        "setuptools",
        "pandas",
        "datasets",
    }
    assert names["pandas"].pinned and names["datasets"].pinned
    assert names["datasets"].url == "git+https://github.com/org/datasets"
    assert names["safetensor"].line == 3
    assert [(i.kind, i.url) for i in facts.indexes] == [
        ("extra-index-url", "https://pkgs.example.net/simple"),
        ("index-url", "https://mirror.example.net/simple"),
    ]
    assert [c.name for c in facts.confusables] == ["safetensor"]


def test_setup_py_is_parsed_not_run(tmp_path: Path) -> None:
    setup_py = """\
import os
from setuptools import setup
os.system("touch pwned")
REQUIRED = ["onnx==1.16.0", "scikit-learn>=1.3"]
setup(
    name="demo",
    install_requires=REQUIRED,
    extras_require={"jax": ["jaxx>=0.4"]},
    setup_requires=compute(),
)
"""
    root = write_model(tmp_path / "m", {"setup.py": setup_py})
    facts = dependencies(root)
    assert not (root / "pwned").exists()
    assert [(p.name, p.line) for p in facts.packages] == [
        ("onnx", 4), ("scikit-learn", 4), ("jaxx", 8),
    ]  # fmt: skip
    assert [(f.id, f.line) for f in facts.findings] == [("dependencies.setup_py.dynamic", 9)]
    assert [c.resembles for c in facts.confusables] == ["jax"]


def test_setup_cfg_environment_and_pipfile(tmp_path: Path) -> None:
    setup_cfg = "[options]\ninstall_requires =\n    numpy==1.26.4\n    torchvison>=0.16  # typo\n"
    environment = """\
name: demo
channels: [conda-forge]
dependencies:
  - python=3.11
  - pytorch::pytorch=2.1.0
  - numpy>=1.24
  - pip:
    - --extra-index-url https://download.pytorch.org/whl/cu118
    - acelerate==0.30.0
"""
    pipfile = (
        '[[source]]\nurl = "https://pypi.org/simple"\nname = "pypi"\n\n'
        '[packages]\nflask = "*"\ntensorflw = "==2.15.0"\n'
    )
    root = write_model(
        tmp_path / "m", {"setup.cfg": setup_cfg, "environment.yml": environment, "Pipfile": pipfile}
    )
    facts = dependencies(root)
    kinds = {m.path: m.kind for m in facts.manifests}
    assert kinds == {
        "setup.cfg": "setup.cfg",
        "environment.yml": "environment",
        "Pipfile": "pipfile",
    }
    conda = [(p.name, p.pinned) for p in facts.packages if p.ecosystem == "conda"]
    assert conda == [("pytorch", True), ("numpy", False)]
    flask = next(p for p in facts.packages if p.name == "flask")
    assert flask.specifier == "" and not flask.pinned
    assert sorted(c.name for c in facts.confusables) == ["acelerate", "tensorflw", "torchvison"]
    assert [(i.kind, i.manifest) for i in facts.indexes] == [
        ("index-url", "Pipfile"),
        ("extra-index-url", "environment.yml"),
    ]


def test_malformed_manifests_are_findings_not_errors(tmp_path: Path) -> None:
    root = write_model(
        tmp_path / "m",
        {
            "pyproject.toml": "[project\n",
            "setup.py": "def (:\n",
            "environment.yml": "dependencies: [\n",
            "Pipfile": b"\xff\xfe[packages]\n",
        },
    )
    facts = dependencies(root)
    assert len(facts.manifests) == 4
    assert {f.file for f in facts.findings if f.id == "dependencies.unparsed"} >= {
        "pyproject.toml", "setup.py", "environment.yml",
    }  # fmt: skip


def test_a_model_without_manifests_has_empty_dependency_facts(tmp_path: Path) -> None:
    facts = dependencies(
        write_model(tmp_path / "m", {"README.md": "# model\n", "notes.txt": "x\n"})
    )
    assert facts == DependenciesFacts()


def test_hostile_nesting_and_whitespace_stay_bounded(tmp_path: Path) -> None:
    root = write_model(
        tmp_path / "m",
        {
            "setup.py": "x = " + "[" * 100_000 + "]" * 100_000 + "\nsetup(install_requires=x)\n",
            "environment.yml": "dependencies: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "pyproject.toml": "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
            "requirements.txt": "numpy" + " " * 500_000 + "x\n#" + "#" * 500_000 + "\n",
        },
    )
    facts = dependencies(root)
    unparsed = {f.file for f in facts.findings if f.id == "dependencies.unparsed"}
    assert {"setup.py", "environment.yml", "pyproject.toml"} <= unparsed
