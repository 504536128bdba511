"""Where a vetting Job stands, and the result line read back from its pod."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.controller.results import job_state, read_result
from modelward.engine.vetting.result import MalformedResult, decode_result, log_pointer
from tests.controller.builders import Models
from tests.controller.fake_cluster import FakeCluster

JOB = "mwv-0123456789abcdef-1"


def job_with(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": JOB}, "status": {"conditions": list(conditions)}}


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        ({"metadata": {"name": JOB}}, ("running", "")),
        ({"status": None}, ("running", "")),
        (job_with(), ("running", "")),
        (job_with({"type": "Complete", "status": "True"}), ("complete", "Completed")),
        (
            job_with({"type": "Complete", "status": "True", "reason": "CompletionsReached"}),
            ("complete", "CompletionsReached"),
        ),
        (
            job_with({"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}),
            ("failed", "DeadlineExceeded"),
        ),
        (
            job_with({"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}),
            ("failed", "BackoffLimitExceeded"),
        ),
        (job_with({"type": "Failed", "status": "True"}), ("failed", "Failed")),
        # A condition that is not (yet) true decides nothing.
        (job_with({"type": "Failed", "status": "False", "reason": "X"}), ("running", "")),
        (job_with({"type": "Complete", "status": "Unknown"}), ("running", "")),
        # Newer API servers mark the target before the final condition: still running.
        (job_with({"type": "FailureTarget", "status": "True"}), ("running", "")),
        (job_with({"type": "Suspended", "status": "True"}), ("running", "")),
    ],
)
def test_job_state(job: dict[str, Any], expected: tuple[str, str]) -> None:
    assert job_state(job) == expected


def test_the_termination_message_is_the_result(models: Models) -> None:
    api = FakeCluster()
    line = models.line(models.benign)
    api.add_pod(JOB, line, log="unrelated output\n")
    assert read_result(api, JOB) == line


def test_a_log_pointer_finds_the_line_whose_digest_matches(models: Models) -> None:
    api = FakeCluster()
    line, other = models.line(models.benign), models.line(models.other)
    api.add_pod(JOB, log_pointer(line), log=f"progress\n{line}\n{other}\ndone\n")
    found = read_result(api, JOB)
    assert found == line
    assert decode_result(found).reference == models.benign


def test_a_log_pointer_with_a_wrong_digest_is_malformed(models: Models) -> None:
    api = FakeCluster()
    line, other = models.line(models.benign), models.line(models.other)
    api.add_pod(JOB, log_pointer(other), log=f"{line}\n")
    with pytest.raises(MalformedResult, match="no result matching"):
        read_result(api, JOB)


def test_a_log_pointer_to_a_missing_line_is_malformed(models: Models) -> None:
    api = FakeCluster()
    line = models.line(models.benign)
    api.add_pod(JOB, log_pointer(line), log="the worker was killed before printing\n")
    with pytest.raises(MalformedResult):
        read_result(api, JOB)


def test_a_log_pointer_with_the_right_digest_but_another_length_is_malformed(
    models: Models,
) -> None:
    api = FakeCluster()
    line = models.line(models.benign)
    pointer = log_pointer(line)
    api.add_pod(JOB, pointer.rsplit(" ", 1)[0] + f" {len(line) + 1}", log=f"{line}\n")
    with pytest.raises(MalformedResult):
        read_result(api, JOB)


@pytest.mark.parametrize(
    "message",
    [
        "modelward-result/v1-log sha256:abc 12",
        "modelward-result/v1-log md5:" + "0" * 64 + " 12",
        "modelward-result/v1-log sha256:" + "0" * 64 + " many",
    ],
)
def test_a_malformed_log_pointer_is_malformed(message: str) -> None:
    api = FakeCluster()
    api.add_pod(JOB, message)
    with pytest.raises(MalformedResult, match="malformed log pointer"):
        read_result(api, JOB)


def test_a_termination_message_that_is_no_result_is_malformed(models: Models) -> None:
    api = FakeCluster()
    api.add_pod(JOB, "panic: out of memory", log=models.line(models.benign) + "\n")
    with pytest.raises(MalformedResult, match="termination message is not a result"):
        read_result(api, JOB)  # the log is not consulted: the worker wrote something else


def test_an_empty_message_and_a_log_without_a_result_is_malformed() -> None:
    api = FakeCluster()
    api.add_pod(JOB, "", log="Traceback (most recent call last):\n")
    with pytest.raises(MalformedResult, match="no result"):
        read_result(api, JOB)


class UnreachableNode(FakeCluster):
    def pod_log(self, pod: str, container: str) -> str:
        raise OSError("the API server cannot reach the node")


def test_an_unreadable_log_is_malformed() -> None:
    api = UnreachableNode()
    api.add_pod(JOB, "")
    with pytest.raises(MalformedResult, match="log cannot be read"):
        read_result(api, JOB)


def test_a_garbage_result_line_is_returned_and_refused_by_the_decoder() -> None:
    api = FakeCluster()
    api.add_pod(JOB, "modelward-result/v1 !!not-base64!!")
    line = read_result(api, JOB)
    with pytest.raises(MalformedResult, match="does not decode"):
        decode_result(line)


def test_without_a_termination_message_the_last_result_in_the_log_counts(models: Models) -> None:
    api = FakeCluster()
    first, last = models.line(models.other), models.line(models.benign)
    api.add_pod(JOB, "", log=f"{first}\nnoise\n{last}\ntrailer\n")
    assert read_result(api, JOB) == last


def test_no_terminated_pod_is_malformed() -> None:
    api = FakeCluster()
    with pytest.raises(MalformedResult, match="no terminated pod"):
        read_result(api, JOB)
    api.pods[JOB] = [{"metadata": {"name": "p"}, "status": {"phase": "Running"}}]
    with pytest.raises(MalformedResult, match="no terminated pod"):
        read_result(api, JOB)


def test_the_succeeded_pod_wins_over_a_later_failed_one(models: Models) -> None:
    api = FakeCluster()
    good = models.line(models.benign)
    api.add_pod(JOB, good)
    api.add_pod(JOB, "killed", phase="Failed", exit_code=137)
    assert read_result(api, JOB) == good


def test_without_a_succeeded_pod_the_last_to_finish_counts(models: Models) -> None:
    api = FakeCluster()
    late, early = models.line(models.benign), models.line(models.other)
    api.add_pod(JOB, late, phase="Failed", exit_code=1)
    api.add_pod(JOB, early, phase="Failed", exit_code=1)
    terminated = [p["status"]["containerStatuses"][0]["state"]["terminated"] for p in api.pods[JOB]]
    terminated[0]["finishedAt"], terminated[1]["finishedAt"] = (
        "2025-01-01T00:00:09Z",
        "2025-01-01T00:00:01Z",
    )
    assert read_result(api, JOB) == late
