"""Keys that cannot be paths of the tree (S3 stores them; versitygw normalises them away)."""

from __future__ import annotations

from modelward.engine.resolvers.buckets.objects import BucketTarget, ObjectEntry
from modelward.engine.resolvers.buckets.tree import plan

TARGET = BucketTarget("s3", "bkt", "models/", None)


def entry(key: str, size: int = 1) -> ObjectEntry:
    return ObjectEntry(key, "v1", '"e"', size)


def test_unsafe_keys_are_left_out_with_a_finding() -> None:
    keys = [
        "models/ok.bin",
        "models/../escape.bin",
        "models/a/./b.bin",
        "models//abs.bin",
        "models/a//b.bin",
        "models/dir\\evil.bin",
        "models/sub/..",
    ]
    layout = plan(TARGET, "models/", [entry(k) for k in keys])
    assert list(layout.files) == ["ok.bin"]
    bad = sorted(f.file for f in layout.findings)
    assert bad == sorted(k for k in keys if k != "models/ok.bin")
    assert {f.id for f in layout.findings} == {"source.object.bad_key"}
    assert all("s3://bkt/" in f.message for f in layout.findings)


def test_a_key_that_is_also_a_folder() -> None:
    layout = plan(TARGET, "models/", [entry("models/a"), entry("models/a/b"), entry("models/c")])
    assert sorted(layout.files) == ["a", "c"]
    assert [f.file for f in layout.findings] == ["models/a/b"]


def test_folder_markers_are_skipped_not_flagged() -> None:
    layout = plan(
        TARGET, "models/", [entry("models/", 0), entry("models/sub/", 0), entry("models/sub/x")]
    )
    assert list(layout.files) == ["sub/x"]
    assert not layout.findings
    assert [s.path for s in layout.skipped] == ["models/sub/"]
