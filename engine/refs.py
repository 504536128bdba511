"""``ModelRef``: the parsed form of every model reference a user can write."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from modelward.engine.errors import InvalidReference

HF_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
GIT_COMMIT = re.compile(r"^[0-9a-f]{40}$")
OCI_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")
_OCI_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
OCI_REPOSITORY = re.compile(rf"^{_OCI_COMPONENT}(?:/{_OCI_COMPONENT})*$")
OCI_REGISTRY = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)
OCI_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,221}$")
VERSION_ID = re.compile(r"^[\x21-\x7e]{1,1024}$")
URL_SHA256 = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
URI_SCHEMES = (
    "hf", "oci", "s3", "gs", "as", "pvc", "file", "http", "https", "hdfs", "webhdfs",
    "model-registry", "kit",
)  # fmt: skip


@dataclass(frozen=True)
class ModelRef:
    """A model reference. ``pinned`` means it names immutable content (a commit or digest)."""

    raw: str
    scheme: str
    location: str
    revision: str | None = None
    pinned: bool = False

    @property
    def canonical(self) -> str:
        """The form verdicts are stored under: ``hf://org/name@rev``, however it was written."""
        if self.scheme == "hf":
            suffix = f"@{self.revision}" if self.revision else ""
            return f"hf://{self.location}{suffix}"
        if self.scheme in ("oci", "kit"):  # a ModelKit is an OCI artifact: one spelling for both
            return f"oci://{self.location}{'@' if self.pinned else ':'}{self.revision}"
        if self.scheme in ("s3", "gs"):
            suffix = f"?versionId={quote(self.revision, safe='')}" if self.revision else ""
            return f"{self.scheme}://{self.location}{suffix}"
        if self.scheme in ("http", "https"):
            suffix = f"#{self.revision.replace(':', '=', 1)}" if self.revision else ""
            return f"{self.scheme}://{self.location}{suffix}"
        return self.raw.strip()

    @property
    def is_local(self) -> bool:
        return self.scheme in ("local", "file")

    @property
    def local_path(self) -> Path:
        if not self.is_local:
            raise InvalidReference(self.raw, "not a local reference")
        return Path(self.location)

    @classmethod
    def parse(cls, ref: str) -> ModelRef:
        """Parse a reference; raise ``InvalidReference`` with the reason when it is malformed."""
        if not ref or not ref.strip():
            raise InvalidReference(ref, "empty reference")
        if any(ord(c) < 0x20 for c in ref):
            raise InvalidReference(ref, "control characters are not allowed")
        scheme, sep, rest = ref.partition("://")
        if not sep:
            # A local path is content on disk: it can change, so it is never pinned.
            return cls(raw=ref, scheme="local", location=ref)
        scheme = scheme.lower()
        if scheme not in URI_SCHEMES:
            raise InvalidReference(ref, f"unknown scheme {scheme!r}")
        if not rest:
            raise InvalidReference(ref, "nothing after the scheme")
        try:
            return _PARSERS.get(scheme, _parse_generic)(ref, scheme, rest)
        except ValueError as exc:  # urlsplit rejects e.g. an unclosed "[" in the host
            raise InvalidReference(ref, f"not a valid URI: {exc}") from exc


def _parse_hf(ref: str, scheme: str, rest: str) -> ModelRef:
    # KServe writes hf://owner/model:revision; users also write @revision.
    repo, revision = rest, None
    for sep in ("@", ":"):
        if sep in rest:
            repo, _, revision = rest.partition(sep)
            break
    if not HF_REPO.match(repo):
        raise InvalidReference(ref, "a Hugging Face reference is hf://org/name[@revision]")
    if revision is not None and not revision:
        raise InvalidReference(ref, "empty revision")
    pinned = revision is not None and bool(GIT_COMMIT.match(revision))
    return ModelRef(ref, scheme, repo, revision, pinned)


@dataclass(frozen=True)
class OciName:
    """``REGISTRY/REPOSITORY[:TAG][@sha256:HEX]`` as container runtimes read it."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def location(self) -> str:
        return f"{self.registry}/{self.repository}"

    @classmethod
    def parse(cls, name: str) -> OciName:
        """Parse an image or artifact name; ``ValueError`` says what is wrong with it."""
        if len(name) > 1024:
            raise ValueError("the name is longer than 1024 characters")
        rest, at, digest = name.partition("@")
        if at and not OCI_SHA256.match(digest):
            algorithm = digest.partition(":")[0]
            if algorithm and algorithm != "sha256" and ":" in digest:
                raise ValueError(f"only sha256 digests are supported, not {algorithm!r}")
            raise ValueError("a digest is sha256: followed by 64 lowercase hex digits")
        registry, repository = _split_registry(rest)
        repository, tag = _split_tag(repository)
        if not OCI_REPOSITORY.match(repository) or len(repository) > 255:
            raise ValueError(
                f"{repository!r} is not a repository name (lowercase letters, digits and "
                "separators ._- between /-separated components)"
            )
        if registry == "docker.io" and "/" not in repository:
            repository = f"library/{repository}"
        return cls(registry, repository, tag, digest or None)


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    # As Docker reads it: the first component is a registry if it looks like a host name.
    is_host = slash and (
        any(c in first for c in ".:[") or first == "localhost" or first != first.lower()
    )
    if not is_host:
        return "docker.io", name
    if not OCI_REGISTRY.match(first):
        raise ValueError(f"{first!r} is not a registry host[:port]")
    return ("docker.io" if first == "index.docker.io" else first), rest


def _split_tag(repository: str) -> tuple[str, str | None]:
    head, colon, tag = repository.rpartition(":")
    if not colon or "/" in tag:
        return repository, None
    if not OCI_TAG.match(tag):
        raise ValueError(f"{tag!r} is not a tag (letters, digits, _.-; at most 128)")
    return head, tag


def _parse_oci(ref: str, scheme: str, rest: str) -> ModelRef:
    """``oci://`` and ``kit://``: revision is the digest when there is one, else the tag."""
    try:
        name = OciName.parse(rest)
    except ValueError as exc:
        form = f"{scheme}://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]"
        raise InvalidReference(ref, f"{exc}; the form is {form}") from None
    revision = name.digest or name.tag or "latest"
    return ModelRef(ref, scheme, name.location, revision, name.digest is not None)


def _parse_file(ref: str, scheme: str, rest: str) -> ModelRef:
    path = urlsplit(ref).path
    if not path:
        raise InvalidReference(ref, "file:// needs an absolute path")
    return ModelRef(ref, scheme, path)


def _parse_generic(ref: str, scheme: str, rest: str) -> ModelRef:
    parts = urlsplit(ref)
    if not parts.netloc:
        raise InvalidReference(ref, f"{scheme}:// needs a host, bucket, claim or registry name")
    # Registries and buckets hand out mutable names; only a content digest pins them.
    pinned = bool(re.search(r"sha256[:=][0-9a-f]{64}", rest))
    return ModelRef(ref, scheme, rest, None, pinned)


def _parse_bucket(ref: str, scheme: str, rest: str) -> ModelRef:
    """``s3://BUCKET/KEY_OR_PREFIX[?versionId=V]``, ``gs://BUCKET/PREFIX``; the key is literal."""
    path, has_query, query = rest.partition("?")
    bucket, _, key = path.partition("/")
    if not bucket:
        raise InvalidReference(ref, f"{scheme}:// needs a host, bucket, claim or registry name")
    if not BUCKET.match(bucket):
        raise InvalidReference(ref, f"{bucket!r} is not a bucket name")
    key = re.sub(r"/{2,}$", "/", key)
    version = _version_id(ref, query) if has_query else None
    if version is not None and (not key or key.endswith("/")):
        raise InvalidReference(ref, "versionId names one object, not a prefix")
    location = f"{bucket}/{key}" if key else bucket
    return ModelRef(ref, scheme, location, version, version is not None)


def _version_id(ref: str, query: str) -> str:
    name, _, value = query.partition("=")
    if name != "versionId" or "&" in value or ";" in value:
        raise InvalidReference(ref, "the only query allowed is ?versionId=VERSION")
    version = unquote(value)  # not unquote_plus: a "+" is part of the id
    if not VERSION_ID.match(version):
        raise InvalidReference(ref, "versionId must be 1-1024 printable characters")
    return version


def _parse_url(ref: str, scheme: str, rest: str) -> ModelRef:
    """``https://HOST/PATH[#sha256=HEX]``: pinned by the content digest in the fragment."""
    parts = urlsplit(ref)
    if not parts.hostname:
        raise InvalidReference(ref, f"{scheme}:// needs a host, bucket, claim or registry name")
    if "@" in parts.netloc:
        raise InvalidReference(ref, "credentials in the URL are not allowed")
    _ = parts.port  # a malformed port raises ValueError here
    digest = None
    if parts.fragment:
        match = URL_SHA256.match(parts.fragment)
        if not match:
            raise InvalidReference(ref, "the only fragment allowed is #sha256=<64 hex digits>")
        digest = f"sha256:{match.group(1).lower()}"
    query = f"?{parts.query}" if parts.query else ""
    location = f"{parts.netloc.lower()}{parts.path}{query}"
    return ModelRef(ref, scheme, location, digest, digest is not None)


_PARSERS = {
    "hf": _parse_hf, "oci": _parse_oci, "kit": _parse_oci, "file": _parse_file,
    "s3": _parse_bucket, "gs": _parse_bucket, "http": _parse_url, "https": _parse_url,
}  # fmt: skip
