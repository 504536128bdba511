"""``auto_map``: the classes ``trust_remote_code=True`` loads, and the files they come from.

Transformers reads ``auto_map`` from ``config.json``, ``tokenizer_config.json`` and the processor
configurations: ``{"AutoModel": "modeling_x.XModel"}`` loads ``modeling_x.py`` next to the
configuration, ``"org/repo--modeling_x.XModel"`` loads it from *another* repository; a tokenizer
entry is a list (slow, fast) that may hold ``null``. ``custom_pipelines`` in ``config.json`` name
pipeline classes (``impl``) the same way.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import Any, Final

from modelward.engine.collectors.code.files import read_text
from modelward.engine.collectors.code.rules import finding
from modelward.engine.facts import AutoMapEntry, Finding
from modelward.engine.source import ModelSource, SourceFile

CONFIG_NAMES: Final = frozenset({
    "config.json", "tokenizer_config.json", "preprocessor_config.json", "processor_config.json",
    "image_processor_config.json", "feature_extractor_config.json",
    "video_preprocessor_config.json",
})  # fmt: skip
MAX_CONFIG_BYTES: Final = 16 << 20
MAX_ENTRIES: Final = 256
_MODULE: Final = re.compile(r"[A-Za-z_][\w.]*")


def auto_map(source: ModelSource, present: set[str]) -> tuple[list[AutoMapEntry], list[Finding]]:
    """Every auto_map reference of the model's configurations, with findings about them."""
    entries: list[AutoMapEntry] = []
    findings: list[Finding] = []
    own = _own_repository(source)
    for config in sorted(_configs(source), key=lambda f: f.path):
        for key, target in _references(config):
            if len(entries) >= MAX_ENTRIES:
                break
            entry, problem = resolve(config.path, key, target, present, own)
            entries.append(entry)
            if problem is not None:
                findings.append(problem)
    return entries, findings


def resolve(
    config: str, key: str, target: str, present: set[str], own: str | None = None
) -> tuple[AutoMapEntry, Finding | None]:
    """One reference resolved to its module file (or its repository)."""
    repository, _, reference = target.rpartition("--")
    module, dot, cls = reference.rpartition(".")
    if not dot or not cls or not _MODULE.fullmatch(module):
        bad = AutoMapEntry(config=config, key=key, target=target)
        detail = f"{key}: {target!r} is not a module.Class reference"
        return bad, finding("code.remote.invalid", config, None, detail)
    folder = posixpath.dirname(config)
    file = posixpath.join(folder, module.replace(".", "/") + ".py")
    if repository and repository != own:
        entry = AutoMapEntry(
            config=config, key=key, target=target, file=file, repository=repository
        )
        detail = f"{key} loads {module}.py from {repository}, code this model does not contain"
        return entry, finding("code.remote.cross_repo", config, None, detail, symbol=target)
    entry = AutoMapEntry(config=config, key=key, target=target, file=file, present=file in present)
    if file in present:
        return entry, None
    return entry, finding(
        "code.remote.missing", config, None, f"{key} names {file}, not in the model"
    )


def _own_repository(source: ModelSource) -> str | None:
    return source.ref.location if source.ref.scheme == "hf" else None


def _configs(source: ModelSource) -> Iterator[SourceFile]:
    for file in source.files:
        if file.path.rsplit("/", 1)[-1] in CONFIG_NAMES and file.size <= MAX_CONFIG_BYTES:
            yield file


def _references(config: SourceFile) -> Iterator[tuple[str, str]]:
    try:
        text = read_text(config, MAX_CONFIG_BYTES)
        document = json.loads(text) if text is not None else None
    except (OSError, ValueError, RecursionError):
        return  # an unreadable configuration names nothing the loader could use either
    if not isinstance(document, dict):
        return
    yield from _auto_map(document.get("auto_map"))
    pipelines = document.get("custom_pipelines")
    if isinstance(pipelines, dict):
        for task, spec in pipelines.items():
            impl = spec.get("impl") if isinstance(spec, dict) else None
            if isinstance(impl, str):
                yield f"custom_pipelines.{task}", impl


def _auto_map(value: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(value, dict):
        return
    for key, target in value.items():
        for item in target if isinstance(target, list) else [target]:
            if isinstance(item, str):
                yield str(key), item


def relative_file(importer: str, level: int, module: str, present: set[str]) -> str | None:
    """The model file a relative import of ``importer`` loads, when the model holds it."""
    folder = posixpath.dirname(importer)
    for _ in range(level - 1):
        folder = posixpath.dirname(folder)
    base = posixpath.join(folder, *module.split(".")) if module else folder
    for candidate in (base + ".py", posixpath.join(base, "__init__.py")):
        candidate = posixpath.normpath(candidate)
        if candidate in present:
            return candidate
    return None
