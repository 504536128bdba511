"""Verdicts import securesystemslib without the cloud SDK it would load for nothing."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from modelward.engine.verdicts.sslib import _Unavailable

PROBE = """
import sys
import modelward.engine.verdicts.signed
print("boto3" in sys.modules)
import boto3
print(callable(boto3.client), "boto3" in sys.modules)
"""


def test_signing_leaves_boto3_unloaded_and_importable() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["False", "True", "True"]


def test_the_sdk_is_unavailable_on_the_importing_thread_only() -> None:
    finder = _Unavailable(["some_sdk"])
    raised: list[bool] = []

    def elsewhere() -> None:
        raised.append(finder.find_spec("some_sdk", None) is not None)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert raised == [False]  # another thread finds it as usual
    with pytest.raises(ModuleNotFoundError) as raised_here:
        finder.find_spec("some_sdk", None)
    assert raised_here.value.name == "some_sdk"
    assert finder.find_spec("other", None) is None
