"""Look-alike package names: typosquats are found, well-known names and relatives are not."""

from __future__ import annotations

import pytest

from modelward.engine.collectors.dependencies.confusable import (
    ConfusableMatcher,
    genuine_packages,
    normalize,
    well_known_packages,
)

MATCHER = ConfusableMatcher()


@pytest.mark.parametrize(
    ("name", "original"),
    [
        ("pytorch-lightningg", "pytorch-lightning"),
        ("transfomers", "transformers"),
        ("transformerss", "transformers"),
        ("trasnformers", "transformers"),  # swapped letters
        ("t0rch", "torch"),  # digit for letter
        ("nurnpy", "numpy"),  # rn for m
        ("numpyy", "numpy"),
        ("torchh", "torch"),
        ("peftt", "peft"),  # doubled letter in a short name
        ("tmim", "timm"),  # swap in a four-letter name
        ("safetensor", "safetensors"),
        ("huggingfacehub", "huggingface-hub"),  # separator removed
        ("hugging-face-hub", "huggingface-hub"),  # separator added
        ("torch-audio", "torchaudio"),
        ("transformers-python", "transformers"),  # suffix trick
        ("py-transformers", "transformers"),  # prefix trick
        ("pythonnumpy", "numpy"),
        ("scikit-learnn", "scikit-learn"),
        ("acelerate", "accelerate"),
        ("bitsandbyte", "bitsandbytes"),
        ("tensorflw", "tensorflow"),
        ("diffuser", "diffusers"),
        ("xgb00st", "xgboost"),
        ("onnxruntlme", "onnxruntime"),
        ("vl1m", "vllm"),
        ("tdqm", "tqdm"),
        ("datazets", "datasets"),
        ("panda", "pandas"),
    ],
)
def test_typosquats_are_found(name: str, original: str) -> None:
    assert MATCHER.resembles(name) == original


def test_no_well_known_name_is_ever_flagged() -> None:
    names = well_known_packages()
    assert len(names) >= 150
    for name in names:
        for spelling in (name, name.upper(), name.replace("-", "_"), name.replace("-", ".")):
            assert MATCHER.resembles(spelling) is None, spelling


@pytest.mark.parametrize(
    "name",
    [
        "tqdm",  # short names need exact skeletons: not torch
        "torch-geometric",  # a relative: a well-known name plus a word
        "torchsummary",
        "tensorflow-metal",
        "transformers-stream-generator",
        "pandas-profiling",
        "numpy-financial",
        "sentence-splitter",
        "python-dotenv",
        "pytest-cov",
        "flask-cors",
        "openai-whisper",
        "llama-index-core",
        "matplotlib-inline",
        "jaxtyping",
        "webdataset",
        "ftfy",
        "gdown",
        "absl-py",
        "scapy",  # one letter from scipy, but well known itself
        "",
        "-",
    ],
)
def test_ordinary_names_are_not_flagged(name: str) -> None:
    assert MATCHER.resembles(name) is None


def test_genuine_neighbours_are_not_flagged_nor_guarded() -> None:
    names = genuine_packages()
    assert {"scrapy", "cattrs", "pyaml", "lightning-sdk"} <= set(names)
    assert [n for n in names if MATCHER.resembles(n) is not None] == []
    assert MATCHER.resembles("oyaml") is None  # close to pyaml, which is genuine but not guarded


def test_extra_names_are_guarded_and_allowlisted_names_are_not_flagged() -> None:
    matcher = ConfusableMatcher(extra=["acme-models"], allowlist=["Transfomers"])
    assert matcher.resembles("acme-modeis") == "acme-models"
    assert matcher.resembles("acme_models") is None
    assert matcher.resembles("transfomers") is None
    assert matcher.resembles("transformerz") == "transformers"


def test_normalize_follows_pep_503() -> None:
    assert normalize("Friendly.Bard__Py") == "friendly-bard-py"
    assert normalize("torch") == "torch"
