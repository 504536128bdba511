"""Normalise found text: bare Hugging Face ids, URIs, image references and container paths.

Bare ids ``ORG/NAME`` become ``hf://ORG/NAME[@revision]``; every reference then goes through
``ModelRef.parse(...).canonical`` so verdicts and admission agree on one spelling. Text that
does not parse keeps ``reference=None`` with the parser's reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import NamedTuple

from modelward.admission.workloads.candidate import Style
from modelward.engine.errors import InvalidReference
from modelward.engine.refs import HF_REPO, ModelRef

PATH_UNSEEN = "a path inside the container; admission cannot see what it holds"
NOT_A_URI = "not a URI; expected a scheme such as hf://, s3://, gs://, pvc:// or oci://"
NOT_AN_ID = "neither a Hugging Face id (org/name), a URI nor a path"
# KServe fetch modes of one OCI image: the content, and so the verdict, is the image's.
OCI_VARIANTS = ("oci+native://", "oci+fetch://")
_REVISION_SEP = re.compile(r"[@:]")
_SPACE = re.compile(r"\s")  # what str.isspace() calls whitespace


class Resolution(NamedTuple):
    reference: str | None
    pinned: bool
    unresolvable: str | None


def _kind(text: str, style: Style) -> str:
    """``hf``, ``uri``, ``oci``, ``path`` or ``invalid:<reason>``."""
    if _SPACE.search(text):
        return "invalid:contains whitespace"
    if "://" in text:
        return "uri"
    if text.startswith(("/", "./", "../", "~")) or text in (".", ".."):
        return "path"
    if style in ("path", "oci"):
        return style
    if style == "uri":
        return f"invalid:{NOT_A_URI}"
    if HF_REPO.match(_REVISION_SEP.split(text, maxsplit=1)[0]):
        return "hf"
    return "path" if "/" in text else f"invalid:{NOT_AN_ID}"


def local_path(raw: str, style: Style) -> str | None:
    """The normalised path ``raw`` names inside the container, or None when it is no path."""
    text = raw.strip()
    if not text or _kind(text, style) != "path":
        return None
    return posixpath.normpath(text)


def covered(path: str, mounts: Iterable[str]) -> bool:
    """Whether absolute ``path`` lies under one of ``mounts`` (mount paths of model volumes)."""
    if not path.startswith("/"):
        return False
    for mount in mounts:
        root = posixpath.normpath(mount) if mount.startswith("/") else ""
        if root not in ("", "/") and (path == root or path.startswith(root + "/")):
            return True
    return False


def _with_revision(uri: str, revision: str | None) -> str:
    if revision is None or _REVISION_SEP.search(uri.partition("://")[2]):
        return uri
    return f"{uri}@{revision}"


def _uri(text: str, kind: str, revision: str | None) -> str:
    if kind == "hf":
        return _with_revision(f"hf://{text}", revision)
    if kind == "oci":
        return f"oci://{text}"
    for variant in OCI_VARIANTS:
        if text.lower().startswith(variant):
            return "oci://" + text[len(variant) :]
    if text.lower().startswith("hf://"):
        return _with_revision(text, revision)
    return text


def resolve(raw: str, style: Style, revision: str | None = None) -> Resolution:
    """The canonical reference for ``raw``, or the reason there is none."""
    text = raw.strip()
    if not text:
        return Resolution(None, False, "empty reference")
    if revision is not None and any(c.isspace() for c in revision):
        return Resolution(None, False, "the revision contains whitespace")
    kind = _kind(text, style)
    if kind == "path":
        return Resolution(None, False, PATH_UNSEEN)
    if kind.startswith("invalid:"):
        return Resolution(None, False, kind.removeprefix("invalid:"))
    try:
        ref = ModelRef.parse(_uri(text, kind, revision))
    except InvalidReference as exc:
        return Resolution(None, False, exc.reason)
    except ValueError as exc:  # urlsplit rejects some hosts (``http://[x``)
        return Resolution(None, False, f"not a valid URI: {exc}")
    if ref.scheme == "local":
        return Resolution(None, False, PATH_UNSEEN)
    return Resolution(ref.canonical, ref.pinned, None)
