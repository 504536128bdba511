"""The facts document: everything modelward knows about one model, as one JSON object."""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

FACTS_SCHEMA_ID: Final = "modelward.dev/facts/v1"

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class Finding(_Model):
    """Something a collector found in the model's files."""

    id: str = Field(description="Stable identifier, e.g. pickle.global.denied")
    severity: Severity
    file: str | None = Field(None, description="Path relative to the model root")
    member: str | None = Field(None, description="Archive member, when inside an archive")
    offset: int | None = Field(None, description="Byte offset, when known")
    line: int | None = Field(
        None, description="1-based line in the file (or notebook cell), for findings in code"
    )
    technique: str | None = Field(None, description="Attack technique or check name")
    symbol: str | None = Field(
        None,
        description="The dotted import path the finding is about (module.name), when it is "
        "about one; policies match allowed_imports against it",
    )
    message: str


class Subject(_Model):
    """What the facts are about."""

    ref: str
    scheme: str
    location: str
    revision: str | None = None
    resolved_revision: str | None = Field(
        None, description="The immutable revision (commit) the reference resolved to"
    )
    pinned: bool
    digest: str | None = Field(None, description="sha256:<OpenSSF model-signing manifest digest>")


class FileFacts(_Model):
    path: str = Field(description="POSIX path relative to the model root")
    size: int
    sha256: str | None = None
    format: str = Field(description="Format detected from the content")
    extension_format: str | None = Field(None, description="Format the file name claims")
    format_mismatch: bool


class ImportFact(_Model):
    file: str
    member: str | None = None
    module: str
    name: str
    verdict: Literal["allowed", "unknown", "denied"]


class SkippedPath(_Model):
    """A path of the model folder that is not model content and was not collected."""

    path: str = Field(description="POSIX path relative to the model root (a file or a folder)")
    reason: str = Field(description="Why it is not model content, e.g. version-control metadata")


class ScanFacts(_Model):
    findings: list[Finding] = []
    imports: list[ImportFact] = []
    complete: bool = Field(description="False whenever anything could not be analysed")
    unanalysed: list[str] = Field([], description="Files (or members) that were not analysed")
    skipped: list[SkippedPath] = Field(
        [], description="Paths left out as not model content (.git/, download metadata)"
    )


class ManifestFacts(_Model):
    """The OpenSSF model-signing manifest the hashes form (``files`` serialization)."""

    serialization: Literal["files"] = "files"
    hash_type: Literal["sha256"] = "sha256"
    digest: str
    excluded: list[str] = []


class SignatureFacts(_Model):
    """What a model signature (OpenSSF model signing) says, and whether it holds."""

    present: bool
    verified: bool = False
    method: Literal["sigstore", "key", "certificate"] | None = None
    identity: str | None = Field(None, description="Signer identity (certificate SAN)")
    issuer: str | None = Field(None, description="OIDC issuer of the signing certificate")
    certificate_fingerprint: str | None = None
    covers_all_files: bool = False
    files_present: bool = True
    signed_files: list[str] = []
    unsigned_files: list[str] = Field([], description="Model files the signature does not cover")
    missing_files: list[str] = Field([], description="Signed files that are not in the model")
    ignored_paths: list[str] = Field([], description="Paths the signer chose to leave out")
    ignored_weights: list[str] = Field([], description="Ignored paths that look like weights")
    error: str | None = None


class HubFileIssue(_Model):
    path: str
    level: str


class HubScan(_Model):
    """The hub's own scan of the repository: evidence, never a substitute for ours."""

    status: Literal["safe", "unsafe", "unscanned", "unavailable"]
    files_with_issues: list[HubFileIssue] = []


class PublisherFacts(_Model):
    source: Literal["huggingface", "local", "other"]
    repo: str | None = None
    author: str | None = None
    gated: bool | str | None = None
    private: bool | None = None
    disabled: bool | None = None
    created_at: str | None = None
    last_modified: str | None = None
    downloads: int | None = None
    hub_scan: HubScan | None = None
    lookalike_of: str | None = Field(None, description="Trusted publisher this name imitates")
    lfs_mismatches: list[str] = Field(
        [], description="Files whose bytes differ from what the hub says it serves"
    )


class BomFacts(_Model):
    """A CycloneDX ML-BOM found in the model or given on the command line."""

    present: bool
    source: str | None = None
    format: Literal["CycloneDX"] | None = None
    spec_version: str | None = None
    valid: bool = False
    errors: list[str] = []
    base_models: list[str] = []
    datasets: list[str] = []
    licenses: list[str] = []
    hash_mismatches: list[str] = Field([], description="Files whose hash differs from the BOM")


class CardFacts(_Model):
    """The model card's YAML front matter."""

    present: bool
    path: str | None = None
    license: str | None = None
    base_model: list[str] = []
    datasets: list[str] = []
    tags: list[str] = []


class AutoMapEntry(_Model):
    """One ``auto_map`` (or ``custom_pipelines``) class reference of a configuration file."""

    config: str = Field(description="The configuration file that declares it")
    key: str = Field(description="The auto class it registers, e.g. AutoModelForCausalLM")
    target: str = Field(description="The reference as written, e.g. modeling_x.XModel")
    file: str | None = Field(None, description="The module file it loads, relative to the root")
    repository: str | None = Field(
        None, description="Another repository the code comes from (repo--module.Class)"
    )
    present: bool = Field(False, description="Whether the module file is in the model")


class RemoteCodeFacts(_Model):
    """Code that ``trust_remote_code=True`` runs when the model is loaded."""

    present: bool = Field(description="Any auto_map reference at all")
    auto_map: list[AutoMapEntry] = []
    files: list[str] = Field(
        [], description="Module files that run: the auto_map targets and their relative imports"
    )
    repositories: list[str] = Field([], description="Other repositories auto_map loads code from")


class CodeFileFacts(_Model):
    path: str
    kind: Literal["python", "notebook", "shell"]
    runs_remote: bool = Field(description="Runs under trust_remote_code")
    parsed: bool = Field(description="False when the file (or a notebook cell) was not analysed")


class CodeFacts(_Model):
    """The code the model brings: Python modules, notebooks, shell scripts and auto_map."""

    remote_code: RemoteCodeFacts
    files: list[CodeFileFacts] = []
    findings: list[Finding] = []
    complete: bool = Field(description="False whenever some code could not be analysed")


class DependencyManifest(_Model):
    """A dependency manifest the model ships."""

    path: str = Field(description="POSIX path relative to the model root")
    kind: Literal["requirements", "pyproject", "setup.cfg", "setup.py", "environment", "pipfile"]


class DependencyPackage(_Model):
    """One requirement a manifest states."""

    name: str = Field(description="The name as written")
    normalized: str = Field(description="The PEP 503 normalised name")
    ecosystem: Literal["pypi", "conda"] = "pypi"
    specifier: str = Field("", description="The version specifier as written ('' for none)")
    pinned: bool = Field(description="One exact version (==V), or a VCS URL at a full commit")
    hashed: bool = Field(False, description="Carries --hash options (or a URL #sha256=)")
    url: str | None = Field(None, description="Direct reference: URL, VCS URL or local path")
    manifest: str
    line: int | None = None
    extras: list[str] = []
    markers: str | None = None


class PackageIndex(_Model):
    """Where a manifest tells the installer to look for packages."""

    url: str
    kind: Literal["index-url", "extra-index-url", "find-links", "trusted-host"]
    manifest: str
    line: int | None = None


class DependencyVulnerability(_Model):
    """A pinned package version an advisory of the offline vulnerability database lists."""

    package: str
    version: str
    id: str
    aliases: list[str] = []
    summary: str | None = None
    manifest: str
    line: int | None = None


class ConfusablePackage(_Model):
    """A package name that imitates a well-known package name."""

    name: str
    resembles: str
    manifest: str
    line: int | None = None


class DependenciesFacts(_Model):
    """The dependency manifests the model ships and what they ask an installer to do."""

    manifests: list[DependencyManifest] = []
    packages: list[DependencyPackage] = []
    indexes: list[PackageIndex] = []
    vulnerabilities: list[DependencyVulnerability] = []
    confusables: list[ConfusablePackage] = []
    vulnerabilities_checked: bool = Field(
        False, description="Whether an offline vulnerability database was consulted"
    )
    findings: list[Finding] = Field(
        [], description="Manifests or lines that could not be read, and limits hit"
    )


class OriginLayer(_Model):
    """One blob of an OCI manifest, as the registry described it."""

    digest: str
    media_type: str
    size: int
    title: str | None = Field(None, description="File name or path the layer declares")


class OriginObject(_Model):
    """One object of a bucket, as the listing described it."""

    key: str
    version_id: str | None = None
    etag: str | None = None
    size: int


class OriginFacts(_Model):
    """Where a remote model's bytes came from: the OCI manifest, bucket objects or URL."""

    scheme: str
    location: str = Field(description="REGISTRY/REPO, BUCKET/PREFIX or the URL without fragment")
    tag: str | None = Field(None, description="The tag the reference named, when it named one")
    digest: str | None = Field(
        None,
        description="sha256:<hex> of the OCI manifest, of the bucket object list, or of the "
        "downloaded content",
    )
    manifest_digest: str | None = Field(
        None,
        description="sha256:<hex> of the platform manifest unpacked, when the reference names "
        "an image index",
    )
    media_type: str | None = None
    artifact_type: str | None = None
    layout: Literal["modelpack", "modelkit", "oras", "image"] | None = None
    platform: str | None = None
    layers: list[OriginLayer] = []
    objects: list[OriginObject] = []


class BackdoorMethodFacts(_Model):
    """One family of backdoor evidence."""

    name: str = Field(max_length=200)
    score: float = Field(ge=0.0, le=1.0)
    seconds: float = Field(ge=0.0)
    suspected_target: str | None = Field(None, max_length=1000)
    trigger: str | None = Field(None, max_length=4000)
    complete: bool = True
    note: str | None = Field(None, max_length=4000)


class BackdoorFacts(_Model):
    """The combined backdoor evidence, or why there is none (``status`` other than ok)."""

    status: Literal["ok", "error", "refused", "unsupported"] = Field(
        description="ok: the analysis ran; refused: the graph must not be run (non-standard "
        "ops, external data, size limits); unsupported: not a classifier it can query; "
        "error: it failed (bad probe inputs, a sandbox limit hit, a crash)"
    )
    score: float | None = Field(None, ge=0.0, le=1.0, description="0 clean .. 1 backdoored")
    suspected_target: str | None = Field(None, max_length=1000)
    trigger: str | None = Field(None, max_length=4000)
    methods: list[BackdoorMethodFacts] = Field([], max_length=64)
    complete: bool = Field(description="False when a method was skipped, cut short or failed")
    reason: str | None = Field(None, description="Why the analysis did not run or finish")
    note: str | None = Field(None, max_length=4000)


class BehaviourInputFacts(_Model):
    """The classifier's input as the analysis saw it (per sample, batch dimension left out)."""

    kind: Literal["tensor", "text"]
    shape: list[int] = Field([], max_length=8)
    dtype: str = Field(max_length=20)
    layout: Literal["chw", "hwc", "flat"] | None = None


class SandboxFacts(_Model):
    """The isolation and limits the analysis ran under."""

    network: Literal["namespace", "landlock", "none"] = Field(
        description="namespace: a new network namespace (no interfaces); landlock: TCP "
        "bind/connect denied; none: not isolated"
    )
    filesystem: Literal["landlock", "none"] = Field(
        description="landlock: writes only under a fresh temp dir, no exec"
    )
    wall_seconds: float
    cpu_seconds: int
    memory_bytes: int


class BehaviourFacts(_Model):
    """Behavioural evidence from querying an ONNX classifier (opt-in: ``--behaviour``)."""

    file: str | None = Field(None, description="The ONNX file analysed, relative to the root")
    probe_inputs: str | None = Field(None, description="The probe input file given, if any")
    probes: int = Field(0, description="Probe samples used (0: only methods needing none ran)")
    input: BehaviourInputFacts | None = None
    labels: int = Field(0, description="Number of classes")
    backdoor: BackdoorFacts
    sandbox: SandboxFacts | None = None
    seconds: float = 0.0


class CollectorStatus(_Model):
    status: Literal["ok", "error", "skipped"]
    seconds: float = 0.0
    reason: str | None = None


class Collection(_Model):
    tool: str
    started_at: str
    collectors: dict[str, CollectorStatus] = {}


class Facts(_Model):
    """Facts document, version 1."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_: Literal["modelward.dev/facts/v1"] = Field(FACTS_SCHEMA_ID, alias="schema")
    subject: Subject
    origin: OriginFacts | None = None
    files: list[FileFacts] = []
    formats: list[str] = []
    manifest: ManifestFacts | None = None
    scan: ScanFacts
    signature: SignatureFacts | None = None
    publisher: PublisherFacts | None = None
    bom: BomFacts | None = None
    card: CardFacts | None = None
    code: CodeFacts | None = None
    dependencies: DependenciesFacts | None = None
    behaviour: BehaviourFacts | None = Field(
        None, description="Present only when the behaviour analysis was requested"
    )
    collection: Collection

    def to_json_dict(self) -> dict[str, Any]:
        document = self.model_dump(mode="json", by_alias=True)
        if document.get("behaviour") is None:  # absent unless the analysis was requested
            document.pop("behaviour", None)
        return document


def facts_json_schema() -> dict[str, Any]:
    """The published JSON Schema of the facts document."""
    schema = Facts.model_json_schema(by_alias=True)
    schema["$id"] = f"https://{FACTS_SCHEMA_ID}"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
