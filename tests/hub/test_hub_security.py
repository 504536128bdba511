"""Reading the Hub's own scan: "unsafe" is evidence, nothing unreadable becomes "safe"."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.engine.resolvers.hf.security import file_state, hub_scan

CLEAN = {"scansDone": True, "filesWithIssues": []}


def test_clean_repository_is_safe() -> None:
    assert hub_scan(CLEAN, {"model.safetensors": "safe"}, False) == {
        "status": "safe",
        "files_with_issues": [],
    }


def test_repository_issue_is_unsafe() -> None:
    status = {"scansDone": True, "filesWithIssues": [{"path": "m.bin", "level": "unsafe"}]}
    assert hub_scan(status, None, False) == {
        "status": "unsafe",
        "files_with_issues": [{"path": "m.bin", "level": "unsafe"}],
    }


def test_per_file_unsafe_counts_even_when_the_repository_looks_clean() -> None:
    result = hub_scan(CLEAN, {"a.pt": "unsafe", "b.json": "safe"}, False)
    assert result == {
        "status": "unsafe",
        "files_with_issues": [{"path": "a.pt", "level": "unsafe"}],
    }


def test_unknown_level_is_unsafe_and_caution_is_listed_only() -> None:
    odd = {"scansDone": True, "filesWithIssues": [{"path": "x.pkl", "level": "Malicious"}]}
    assert hub_scan(odd, None, False)["status"] == "unsafe"
    caution = {"scansDone": True, "filesWithIssues": [{"path": "x.pkl", "level": "caution"}]}
    assert hub_scan(caution, None, False) == {
        "status": "safe",
        "files_with_issues": [{"path": "x.pkl", "level": "caution"}],
    }


@pytest.mark.parametrize(
    "status",
    [None, "done", [], {"scansDone": False, "filesWithIssues": []}, {"filesWithIssues": []}],
)
def test_missing_or_unfinished_scan_is_unscanned(status: Any) -> None:
    assert hub_scan(status, None, False)["status"] == "unscanned"


def test_pending_file_is_unscanned() -> None:
    assert hub_scan(CLEAN, {"m.bin": "queued"}, False)["status"] == "unscanned"


def test_failed_per_file_query_is_unavailable_unless_something_is_unsafe() -> None:
    assert hub_scan(CLEAN, None, True)["status"] == "unavailable"
    flagged = {"scansDone": True, "filesWithIssues": [{"path": "m.bin", "level": "unsafe"}]}
    assert hub_scan(flagged, None, True)["status"] == "unsafe"


def test_malformed_entries_are_ignored_and_levels_defaulted() -> None:
    status = {
        "scansDone": True,
        "filesWithIssues": [
            None,
            {"path": 3},
            {"path": "a.bin"},
            {"path": "b.bin", "level": "safe"},
        ],
    }
    assert hub_scan(status, None, False) == {
        "status": "unsafe",
        "files_with_issues": [{"path": "a.bin", "level": "unknown"}],
    }


def test_file_state_reads_mappings_and_objects() -> None:
    class Info:
        status = "unsafe"

    assert file_state({"status": "safe"}) == "safe"
    assert file_state(Info()) == "unsafe"
    assert file_state({"avScan": {}}) is None
    assert file_state(None) is None
