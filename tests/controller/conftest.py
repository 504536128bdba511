"""Fixtures of the controller tests: the built-in policy bundle, models vetted once per run."""

from __future__ import annotations

import pytest

from modelward.engine.policy.bundle import PolicyBundle, load_bundle
from tests.controller.builders import Models, make_models


@pytest.fixture(scope="session")
def bundle() -> PolicyBundle:
    return load_bundle(None, None)


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory, bundle: PolicyBundle) -> Models:
    return make_models(tmp_path_factory.mktemp("models"), bundle)
