"""``DependenciesCollector``: the dependency manifests a model ships, read statically.

Requirements files, ``pyproject.toml``, ``setup.cfg``, ``setup.py`` (parsed, never run), conda
environment files and ``Pipfile`` (``manifests``). The facts list every package with its pin and
hashes, every package index the manifests add, names that imitate well-known ML packages
(``confusable``) and, when an offline OSV database is given (``--vuln-db`` or
``MODELWARD_VULN_DB``), the pinned versions it lists as vulnerable (``osv``). Nothing is
fetched: without a database ``vulnerabilities_checked`` is false.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Final

from modelward.engine.collectors import CollectContext, CollectOptions
from modelward.engine.collectors.dependencies.names import manifest_kind
from modelward.engine.facts import DependenciesFacts
from modelward.engine.source import ModelSource

if TYPE_CHECKING:
    from modelward.engine.collectors.dependencies.confusable import ConfusableMatcher

#: The offline vulnerability database when no ``--vuln-db`` option names one.
VULN_DB_ENV: Final = "MODELWARD_VULN_DB"


class DependenciesCollector:
    name = "dependencies"

    def collect(self, source: ModelSource, ctx: CollectContext) -> DependenciesFacts:
        options = ctx.options
        db = options.vuln_db or _env_db()
        if db is not None and not db.exists():
            raise FileNotFoundError(f"vulnerability database {db}: no such file or directory")
        if source.single_file or not any(manifest_kind(f.path) for f in source.files):
            return DependenciesFacts(vulnerabilities_checked=db is not None)
        # The parsers are imported only for models that ship a manifest.
        from modelward.engine.collectors.dependencies.manifests import ManifestReader
        from modelward.engine.collectors.dependencies.rules import confusables, vulnerabilities

        collected = ManifestReader(source).read_all()
        packages = collected.packages
        return DependenciesFacts(
            manifests=collected.manifests,
            packages=packages,
            indexes=collected.indexes,
            confusables=confusables(packages, _matcher(options)) if packages else [],
            vulnerabilities=vulnerabilities(packages, db) if db and packages else [],
            vulnerabilities_checked=db is not None,
            findings=collected.findings,
        )


def _matcher(options: CollectOptions) -> ConfusableMatcher:
    return _cached_matcher(options.well_known_packages, options.dependency_allowlist)


@lru_cache(maxsize=4)
def _cached_matcher(extra: tuple[str, ...], allowlist: tuple[str, ...]) -> ConfusableMatcher:
    """Building the candidate index takes a moment: once per configuration and process."""
    from modelward.engine.collectors.dependencies.confusable import ConfusableMatcher

    return ConfusableMatcher(extra, allowlist)


def _env_db() -> Path | None:
    value = os.environ.get(VULN_DB_ENV, "").strip()
    return Path(value) if value else None
