"""Chat templates shipped beside the weights: ``tokenizer_config.json``, ``chat_template.json`` and
``*.jinja`` files, judged by the same template analysis as GGUF metadata (``templates.check``).

``chat_template`` may be a string or a list of ``{"name", "template"}`` objects; every one is a
template a runtime renders. Any other JSON string holding Jinja syntax is judged too, but one
that does not parse is only noted (runtimes do not render it). Duplicate keys are all judged,
whichever one a loader keeps. Files are read up to 16 MiB; the content is also scanned as whatever
format it is detected as, so a pickle named ``tokenizer_config.json`` is still a pickle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import BinaryIO, Final

from modelward.engine.scan.context import ScanContext, read_at
from modelward.engine.scan.result import FileScan

#: File names whose content a runtime renders as a chat template.
TEMPLATE_NAMES: Final = frozenset({"tokenizer_config.json", "chat_template.json"})
TEMPLATE_SUFFIXES: Final = (".jinja", ".jinja2")
MAX_FILE_BYTES: Final = 16 << 20  # tokenizer configs with many added tokens exceed 1 MiB
MAX_TEMPLATES: Final = 32
MAX_JSON_DEPTH: Final = 64
PREFIX: Final = "template"
TECHNIQUE: Final = "Jinja template injection"
#: JSON paths of the templates ``_chat_templates`` yields (not yielded twice).
CHAT_PATH: Final = re.compile(r"chat_template(\[\d+\]\.template)?")


class _Object(list[tuple[str, object]]):
    """A JSON object as its (key, value) pairs, duplicates kept."""


def is_template_file(path: str) -> bool:
    """Whether a runtime reads chat templates from the file at ``path``."""
    name = PurePosixPath(path).name
    return name in TEMPLATE_NAMES or name.endswith(TEMPLATE_SUFFIXES)


def scan_template_file(fp: BinaryIO, size: int, ctx: ScanContext) -> FileScan:
    """The chat templates in a template file, and the file as its detected format."""
    result = FileScan()
    for step, what in ((_scan_templates, "template"), (_scan_content_format, "content")):
        try:
            step(fp, size, ctx, result)
        except Exception as exc:  # a scanner bug or hostile input must never pass as clean
            reason = f"{what} analysis failed: {type(exc).__name__}: {exc}"
            finding = ctx.finding("scan.error", "medium", reason, technique=TECHNIQUE)
            ctx.incomplete(result, finding)
    return result


def _scan_content_format(fp: BinaryIO, size: int, ctx: ScanContext, result: FileScan) -> None:
    from modelward.engine.identify.formats import detect
    from modelward.engine.scan import scan_stream

    fmt = detect(fp, size)
    if fmt not in ("json", "text", "empty"):
        result.merge(scan_stream(fp, size, fmt, ctx))


def _problem(ctx: ScanContext, result: FileScan, kind: str, reason: str) -> None:
    ctx.incomplete(result, ctx.finding(f"{PREFIX}.{kind}", "medium", reason, technique=TECHNIQUE))


def _scan_templates(fp: BinaryIO, size: int, ctx: ScanContext, result: FileScan) -> None:
    if size > MAX_FILE_BYTES:
        _problem(ctx, result, "too_large", f"{size} bytes exceed the {MAX_FILE_BYTES}-byte limit")
        return
    try:
        text = read_at(fp, 0, size).decode("utf-8")
    except UnicodeDecodeError as exc:
        _problem(ctx, result, "undecodable", f"not UTF-8 text ({exc}); no runtime can read it")
        return
    if PurePosixPath(ctx.member or ctx.file).name.endswith(TEMPLATE_SUFFIXES):
        _judge(text, PurePosixPath(ctx.member or ctx.file).name, True, ctx, result)
        return
    try:
        document = json.loads(text, object_pairs_hook=_Object)
    except (ValueError, RecursionError) as exc:
        _problem(ctx, result, "bad_json", f"does not parse as JSON: {exc}")
        return
    templates = list(_templates(document, ctx, result))
    if len(templates) > MAX_TEMPLATES:
        _problem(ctx, result, "too_many", f"{len(templates)} templates exceed {MAX_TEMPLATES}")
    for label, template, rendered in templates[:MAX_TEMPLATES]:
        _judge(template, label, rendered, ctx, result)


def _templates(
    document: object, ctx: ScanContext, result: FileScan
) -> Iterator[tuple[str, str, bool]]:
    """(label, template, rendered by runtimes) for every template in a JSON document."""
    pairs = document if isinstance(document, _Object) else _Object()
    for value in (v for k, v in pairs if k == "chat_template"):
        yield from _chat_templates(value, ctx, result)
    for path, value in _strings(document, ctx, result):
        if CHAT_PATH.fullmatch(path) is None and ("{%" in value or "{{" in value):
            yield path, value, path.startswith("chat_template")


def _chat_templates(
    value: object, ctx: ScanContext, result: FileScan
) -> Iterator[tuple[str, str, bool]]:
    """A string, a list of ``{"name", "template"}`` (a dict's strings come from ``_strings``)."""
    if isinstance(value, str):
        yield "chat_template", value, True
    elif isinstance(value, list) and not isinstance(value, _Object):
        for index, entry in enumerate(value):
            fields = dict(entry) if isinstance(entry, _Object) else {}
            name, template = fields.get("name"), fields.get("template")
            label = f"chat_template[{name if isinstance(name, str) else index}]"
            if isinstance(template, str):
                yield label, template, True
            else:
                _unexpected(ctx, result, f"{label} has no string 'template' ({_kind(template)})")
    elif not isinstance(value, _Object):
        _unexpected(ctx, result, f"chat_template is a {_kind(value)}, not a string or a list")


def _unexpected(ctx: ScanContext, result: FileScan, reason: str) -> None:
    """A shape no runtime renders: nothing runs, but it is worth a note."""
    result.findings.append(ctx.finding(f"{PREFIX}.unexpected", "low", reason, technique=TECHNIQUE))


def _strings(document: object, ctx: ScanContext, result: FileScan) -> Iterator[tuple[str, str]]:
    """(JSON path, value) of every string in the document, depth-first, bounded in depth."""
    stack: list[tuple[str, object, int]] = [("", document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            yield path or "(document)", value
        elif depth >= MAX_JSON_DEPTH:
            _problem(ctx, result, "too_deep", f"JSON nested more than {MAX_JSON_DEPTH} levels")
            return
        elif isinstance(value, _Object):
            stack.extend((f"{path}.{k}" if path else k, v, depth + 1) for k, v in reversed(value))
        elif isinstance(value, list):
            stack.extend(
                (f"{path}[{i}]", v, depth + 1) for i, v in reversed(list(enumerate(value)))
            )


def _judge(template: str, label: str, rendered: bool, ctx: ScanContext, result: FileScan) -> None:
    from modelward.engine.scan.templates.check import template_issues

    for issue in template_issues(template, PREFIX):
        if issue.incomplete and not rendered:
            reason = f"{label} holds Jinja-like text that is not analysable ({issue.reason})"
            finding = ctx.finding(f"{PREFIX}.not_a_template", "low", reason, technique=TECHNIQUE)
            result.findings.append(finding)
            continue
        finding = ctx.finding(
            issue.id, issue.severity, f"{label} {issue.reason}", technique=TECHNIQUE
        )
        if issue.incomplete:
            ctx.incomplete(result, finding)
        else:
            result.findings.append(finding)


def _kind(value: object) -> str:
    if isinstance(value, _Object):
        return "JSON object"
    if isinstance(value, bool) or value is None:
        return "boolean" if value is not None else "null"
    return "number" if isinstance(value, int | float) else type(value).__name__
