"""The Python analyser on its own: benign modeling code stays quiet, every rule fires where it
should, with import-time code judged more severely than function bodies."""

from __future__ import annotations

import pytest

from modelward.engine.collectors.code.python import analyse_python
from tests.code import repos

#: Ordinary code of the kind model repositories ship (written for these tests).
BENIGN = {
    "configuration": repos.CONFIGURATION,
    "modeling": repos.MODELING,
    "rotary": repos.ROTARY,
    "tokenization": repos.TOKENIZATION,
    "processing": """\
import os
from pathlib import Path

import numpy as np
from PIL import Image
from transformers.image_processing_utils import BaseImageProcessor


class XImageProcessor(BaseImageProcessor):
    model_input_names = ["pixel_values"]

    def __init__(self, size=224, mean=(0.5, 0.5, 0.5), **kwargs):
        super().__init__(**kwargs)
        self.size = size
        self.mean = np.asarray(mean, dtype=np.float32)
        self.cache_dir = Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser()

    def preprocess(self, images, return_tensors=None):
        arrays = [np.asarray(Image.open(i).convert("RGB").resize((self.size, self.size)))
                  for i in images]
        return {"pixel_values": (np.stack(arrays) / 255.0 - self.mean)}
""",
    "training": """\
import argparse
import logging
import os

import torch
from torch.utils.data import DataLoader

logger = logging.getLogger(__name__)
torch.backends.cudnn.benchmark = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--output", default="out")
    args = parser.parse_args()
    rank = int(os.environ.get("LOCAL_RANK", "0"))
    os.makedirs(args.output, exist_ok=True)
    state = torch.load(os.path.join(args.output, "ckpt.pt"), weights_only=True)
    torch.save(state, os.path.join(args.output, "final.pt"))
    logger.info("rank %d done", rank)


if __name__ == "__main__":
    main()
""",
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_module_has_no_high_findings(name: str) -> None:
    result = analyse_python(BENIGN[name], f"{name}.py")
    assert result.parsed
    assert [f.message for f in result.findings if f.severity in {"high", "critical"}] == []


def ids(source: str, **kw: object) -> dict[str, str]:
    """Rule id -> severity of each finding in ``source``."""
    result = analyse_python(source, "m.py", **kw)  # type: ignore[arg-type]
    assert result.parsed
    return {f.id: f.severity for f in result.findings}


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess as sp\nsp.run(['id'])",
        "from os import system\nsystem('id')",
        "import os\nrun = os.system\nrun('id')",
        "__import__('os').system('id')",
        "import importlib\nimportlib.import_module('subprocess').check_output('id')",
        "import os\ngetattr(os, 'system')('id')",
    ],
)
def test_aliases_are_resolved(source: str) -> None:
    assert ids(source) == {"code.process": "high"}


def test_import_time_is_more_severe_than_a_function_body() -> None:
    at_import = "import subprocess\nsubprocess.run(['nvidia-smi'])"
    in_function = "import subprocess\ndef gpus():\n    return subprocess.run(['nvidia-smi'])"
    assert ids(at_import) == {"code.process": "high"}
    assert ids(in_function) == {"code.process": "medium"}


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess\nclass A:\n    out = subprocess.run(['id'])",
        "import os\ndef f(x=os.system('id')):\n    pass",
        "import os\n@print(os.popen('id'))\ndef f():\n    pass",
    ],
    ids=["class-body", "default-argument", "decorator"],
)
def test_class_bodies_defaults_and_decorators_run_at_import(source: str) -> None:
    assert ids(source) == {"code.process": "high"}


def test_main_block_of_an_imported_module_does_not_run_at_import() -> None:
    source = "import os\nif __name__ == '__main__':\n    os.system('make')"
    assert ids(source, runs_main=False) == {"code.process": "medium"}
    assert ids(source, runs_main=True) == {"code.process": "high"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import torch\ndef f(p):\n    return torch.load(p)", {"code.deserialize": "medium"}),
        ("import torch\ndef f(p):\n    return torch.load(p, weights_only=True)", {}),
        ("import numpy as np\nnp.load('a.npy')", {}),
        ("import numpy as np\nnp.load('a.npy', allow_pickle=True)", {"code.deserialize": "high"}),
        ("import yaml\nyaml.load(open('c'), Loader=yaml.SafeLoader)", {}),
        ("import pickle\npickle.loads(b'')", {"code.deserialize": "high"}),
        (
            "import marshal\nexec(marshal.loads(b''))",
            {"code.obfuscation.exec": "critical", "code.deserialize": "high"},
        ),
        ("eval(input())", {"code.dynamic.exec": "high"}),
        ("exec('import os; os.system(1)')", {"code.dynamic.exec": "high", "code.process": "high"}),
        (
            "import importlib\ndef f(n):\n    importlib.import_module(n)",
            {"code.dynamic.import": "low"},
        ),
        ("import requests\nrequests.get('http://x')", {"code.network": "high"}),
        (
            "import socket\ndef f():\n    socket.create_connection(('x', 1))",
            {"code.network": "medium"},
        ),
        ("import torch\ntorch.hub.load('a/b', 'm')", {"code.download.code": "high"}),
        (
            "from huggingface_hub import hf_hub_download\nhf_hub_download('a/b', 'f')",
            {"code.download.file": "high"},
        ),
        (
            "from transformers import AutoModel\nm = AutoModel.from_pretrained('org/other')",
            {"code.download.file": "high"},
        ),
        ("import os\ntoken = os.environ['HF_TOKEN']", {"code.env.credential": "high"}),
        (
            "import os\ndef f():\n    return os.getenv('AWS_SECRET_ACCESS_KEY')",
            {"code.env.credential": "medium"},
        ),
        ("import os\nenv = os.environ.copy()", {"code.env.dump": "high"}),
        (
            "import os\nkey = open(os.path.expanduser('~/.aws/credentials')).read()",
            {"code.credentials.file": "high"},
        ),
        ("open('/etc/cron.d/x', 'w').write('* * * * * id')", {"code.file.persistence": "critical"}),
        (
            "import os\nwith open(os.path.expanduser('~/.bashrc'), 'a') as f:\n    f.write('x')",
            {"code.file.persistence": "critical"},
        ),
        (
            "from pathlib import Path\nPath('/opt/x/run.py').write_text('')",
            {"code.file.write": "high"},
        ),
        ("open('/tmp/x.log', 'w')", {}),
        ("import torch\ntorch.load = lambda *a, **k: None", {"code.monkeypatch": "high"}),
        ("import builtins\nbuiltins.open = None", {"code.monkeypatch.builtins": "critical"}),
        (
            "import transformers\nsetattr(transformers, 'AutoModel', object)",
            {"code.monkeypatch": "high"},
        ),
        ("import sys\nsys.modules['torch'] = object()", {"code.monkeypatch": "high"}),
        ("x = " + "+".join(f"chr({c})" for c in b"import os"), {"code.obfuscation.chr": "high"}),
        (
            "exec(''.join(map(chr, [105, 109])))",
            {"code.obfuscation.exec": "critical", "code.obfuscation.chr": "high"},
        ),
        ("BLOB = '" + "QUJD" * 400 + "'", {"code.obfuscation.blob": "medium"}),
        (
            "from transformers import AutoModel\ndef f():\n"
            "    AutoModel.from_pretrained('x', trust_remote_code=True)",
            {"code.download.code": "high"},
        ),
    ],
)
def test_rules(source: str, expected: dict[str, str]) -> None:
    assert ids(source) == expected


def test_docstrings_naming_credentials_are_not_findings() -> None:
    assert ids('"""Reads ~/.aws/credentials for you."""\nX = 1') == {}


def test_findings_carry_file_and_line() -> None:
    result = analyse_python("import os\n\n\nos.system('id')\n", "pkg/m.py")
    (only,) = result.findings
    assert (only.file, only.line, only.id) == ("pkg/m.py", 4, "code.process")
    assert only.message.startswith("pkg/m.py:4 runs a process when imported")


def test_relative_imports_are_reported() -> None:
    result = analyse_python("from .a import b\nfrom ..c.d import e\nfrom . import f, g", "x/m.py")
    assert sorted(result.relative) == [(1, ""), (1, "a"), (1, "f"), (1, "g"), (2, "c.d")]
