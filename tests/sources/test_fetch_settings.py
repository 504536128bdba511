from __future__ import annotations

import pytest

from modelward.engine.errors import ResolveError
from modelward.engine.resolvers.fetch import DEFAULT_MAX_DOWNLOAD, FetchSettings


def test_max_download_from_the_environment() -> None:
    assert FetchSettings.from_environ({}).max_download == DEFAULT_MAX_DOWNLOAD == 64 << 30
    env = {"MODELWARD_MAX_DOWNLOAD": "1048576"}
    assert FetchSettings.from_environ(env).max_download == 1 << 20


@pytest.mark.parametrize("value", ["0", "-5", "1e9", "lots"])
def test_max_download_must_be_a_positive_byte_count(value: str) -> None:
    with pytest.raises(ResolveError, match="MODELWARD_MAX_DOWNLOAD: must be a positive number"):
        FetchSettings.from_environ({"MODELWARD_MAX_DOWNLOAD": value})
