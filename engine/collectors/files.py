"""``FilesCollector``: every file with its size, detected format and claimed format."""

from __future__ import annotations

from modelward.engine.collectors import CollectContext
from modelward.engine.facts import FileFacts
from modelward.engine.identify import formats
from modelward.engine.source import ModelSource, SourceFile


class FilesCollector:
    name = "files"

    def collect(self, source: ModelSource, ctx: CollectContext) -> list[FileFacts]:
        return [self._file_facts(f) for f in source.files]

    @staticmethod
    def _file_facts(file: SourceFile) -> FileFacts:
        try:
            with file.open() as fp:
                detected = formats.detect(fp, file.size)
        except OSError:
            detected = "unreadable"
        except Exception:  # hostile bytes that break a parser are never "clean"
            detected = "undetected"
        claimed = formats.claimed_format(file.path)
        return FileFacts(
            path=file.path,
            size=file.size,
            format=detected,
            extension_format=claimed,
            format_mismatch=formats.is_mismatch(detected, claimed),
        )
