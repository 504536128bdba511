"""What the collected packages mean: confusable names and known vulnerabilities.

Only an exact pin (``==V``, or a conda ``=V``) names the version an installer will take, so only
pinned packages are judged against the vulnerability database. A range may resolve to a fixed
release as well as to a vulnerable one; it is reported as unpinned instead (dependency-unpinned).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from modelward.engine.collectors.dependencies.confusable import ConfusableMatcher
from modelward.engine.collectors.dependencies.formats import conda_version
from modelward.engine.collectors.dependencies.osv import load_advisories
from modelward.engine.collectors.dependencies.requirements import exact_version
from modelward.engine.facts import ConfusablePackage, DependencyPackage, DependencyVulnerability


def confusables(
    packages: Iterable[DependencyPackage], matcher: ConfusableMatcher
) -> list[ConfusablePackage]:
    """Every package whose name imitates a well-known package name."""
    found: list[ConfusablePackage] = []
    cache: dict[str, str | None] = {}
    for package in packages:
        if package.normalized not in cache:
            cache[package.normalized] = matcher.resembles(package.name)
        original = cache[package.normalized]
        if original is not None:
            found.append(
                ConfusablePackage(
                    name=package.name, resembles=original,
                    manifest=package.manifest, line=package.line,
                )
            )  # fmt: skip
    return found


def pinned_version(package: DependencyPackage) -> str | None:
    """The one version a package is pinned to, or None (ranges, URLs, no version)."""
    if package.url is not None:
        return None
    if package.ecosystem == "conda":
        return conda_version(package)
    # Poetry and Pipfile write an exact version without an operator.
    return exact_version(package.specifier) or exact_version("==" + package.specifier)


def vulnerabilities(packages: list[DependencyPackage], db: Path) -> list[DependencyVulnerability]:
    """Pinned packages that an advisory of the offline database ``db`` lists."""
    pinned = [(p, v) for p in packages if (v := pinned_version(p)) is not None]
    advisories = load_advisories(db, {p.normalized for p, _ in pinned})
    found: list[DependencyVulnerability] = []
    for package, version in pinned:
        for advisory in advisories.get(package.normalized, ()):
            if advisory.affects(package.normalized, version):
                found.append(
                    DependencyVulnerability(
                        package=package.name, version=version, id=advisory.id,
                        aliases=list(advisory.aliases), summary=advisory.summary,
                        manifest=package.manifest, line=package.line,
                    )
                )  # fmt: skip
    return found
