"""Fixtures of the behaviour tests: classifiers built once, and the stand-in analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelward.engine.behaviour import sandbox
from tests.behaviour import sandbox_models

STAND_IN = "tests.behaviour.sandbox_stand_in:analyse"
ESCAPE = "tests.behaviour.sandbox_stand_in:escape"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of benign classifiers and probe files (built once per session)."""
    folder = tmp_path_factory.mktemp("behaviour-models")
    sandbox_models.logistic_digits(folder / "digits.onnx")
    sandbox_models.logistic_digits(folder / "digits_scores.onnx", zipmap=False)
    sandbox_models.tfidf_text(folder / "reviews.onnx")
    sandbox_models.linear_softmax(folder / "one_class.onnx")
    x, _ = sandbox_models.digits()
    np.save(folder / "digits.npy", x[1200:1500])
    (folder / "reviews.txt").write_text("good movie\nbad film\n\ngreat plot\n", encoding="utf-8")
    return folder


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> str:
    """The sandboxed child runs the stand-in analysis instead of the real one."""
    monkeypatch.setattr(sandbox, "ANALYSE", STAND_IN)
    monkeypatch.setattr(sandbox, "IMPORT_PATH", (str(REPO),))
    return STAND_IN
