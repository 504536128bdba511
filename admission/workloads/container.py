"""The model references of one container: its command line, its env and what it is.

Besides the model servers (see ``launchers``) and the model flags of any other command (see
``modelflags``), three containers load models by their role:
KServe's ``storage-initializer`` (``args: [URI, DEST, ...]``), KServe's ``modelcar`` sidecar and
``modelcar-init`` (the image is the model) and KitOps' ``kitops-init`` (env ``MODELKIT_REF``).
The volumes such loaders mount hold the model, so paths under them are not references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from modelward.admission.workloads.candidate import Candidate
from modelward.admission.workloads.commandline import (
    Command,
    Untokenisable,
    Word,
    container_argv,
    simple_commands,
)
from modelward.admission.workloads.environment import EnvTable, expand_k8s, generic_env, read_env
from modelward.admission.workloads.fields import at, count_container, entries, mapping, text, texts
from modelward.admission.workloads.launchers import HF_SERVER, Launch, detect, detect_image
from modelward.admission.workloads.modelflags import flag_candidates
from modelward.admission.workloads.normalise import local_path
from modelward.admission.workloads.serverargs import launch_candidates

STORAGE_INITIALIZER = "storage-initializer"
MODELCAR = frozenset({"modelcar", "modelcar-init"})
KITOPS_INIT = "kitops-init"
UNTOKENISABLE = "a shell script admission cannot read ({}); what it loads cannot be known"
NO_MODELKIT = "kitops-init reads MODELKIT_REF, which its env does not set (envFrom or the image)"


@dataclass(frozen=True)
class ContainerScan:
    name: str | None
    candidates: list[Candidate]
    mounts: list[tuple[str, str]]  # (volume name, mountPath)
    loader: bool  # a container whose job is to put a model into its volumes


def scan_container(
    value: object,
    path: str,
    *,
    kserve: bool = False,
    default_name: str | None = None,
    hf_server: bool = False,
) -> ContainerScan:
    """Scan one container; ``kserve``: inside an InferenceService (``STORAGE_URI`` is KServe's)."""
    container = mapping(value, path)
    name = text(container.get("name"), at(path, "name")) or default_name
    image = text(container.get("image"), at(path, "image"))
    env = read_env(container, path)
    found, consumed = _command_line(container, path, env, image, hf_server)
    kitops = name == KITOPS_INIT or KITOPS_INIT in (image or "")
    sources = {"STORAGE_URI": "kserve" if kserve else "env"}
    sources["MODELKIT_REF"] = "kitops" if kitops else "env"
    found += generic_env(env, sources, consumed)
    found += _role(name, container, path, env, image)
    if kitops and not any(c.source == "kitops" for c in found):
        found.append(Candidate("", "oci", at(path, "env"), "kitops", unresolvable=NO_MODELKIT))
    loader = kitops or name == STORAGE_INITIALIZER or name in MODELCAR
    count_container(name, any(not _is_path(c) for c in found), path)
    return ContainerScan(name, [c.within(name) for c in found], _mounts(container, path), loader)


def _is_path(candidate: Candidate) -> bool:
    """A container path, which a model volume's mount may still cover (``drop_covered``)."""
    return not candidate.unresolvable and local_path(candidate.raw, candidate.style) is not None


def _command_line(
    container: Mapping[str, object], path: str, env: EnvTable, image: str | None, hf_server: bool
) -> tuple[list[Candidate], set[str]]:
    """References on the command line, and the env variables the servers found there read.

    A command no recognised server runs is read for model flags (``modelflags``), unless its
    words are the arguments of a server the image runs itself.
    """
    argv = container_argv(container, path, env)
    found: list[Candidate] = []
    launches: list[tuple[Launch, Command]] = []
    others: list[Command] = []
    for command in simple_commands(argv, env):
        if isinstance(command, Untokenisable):
            script, reason = command.script, UNTOKENISABLE.format(command.reason)
            found.append(Candidate(script.text, "id", script.origin, "shell", unresolvable=reason))
        elif (launch := detect(command)) is not None:
            launches.append((launch, command))
        else:
            others.append(command)
    if not launches and not container.get("command"):
        launch = _entrypoint(path, image, argv, hf_server)
        if launch is not None:
            launches.append((launch, Command(tuple(argv), env, env)))
            others = []
    for command in others:
        found += flag_candidates(command)
    consumed: set[str] = set()
    for launch, command in launches:
        candidates, reads = launch_candidates(launch, command)
        found += candidates
        consumed |= reads
    return found, consumed


def _entrypoint(path: str, image: str | None, argv: list[Word], hf_server: bool) -> Launch | None:
    """The server the image's own entrypoint runs with ``args``."""
    if image:
        launch = detect_image(Word(image, at(path, "image")), argv)
        if launch is not None:
            return launch
    if hf_server:
        return Launch(HF_SERVER, Word("huggingface", path), tuple(argv), False)
    return None


def _role(
    name: str | None, container: Mapping[str, object], path: str, env: EnvTable, image: str | None
) -> list[Candidate]:
    """References a container holds by its role: storage initializer or modelcar."""
    if name == STORAGE_INITIALIZER:
        args_path = at(path, "args")
        args = texts(container.get("args"), args_path)
        return [
            Candidate(expand_k8s(arg, env, at(args_path, i)), "uri", at(args_path, i), name)
            for i, arg in enumerate(args)
            if i % 2 == 0
        ]
    if name in MODELCAR and image:
        return [Candidate(image, "oci", at(path, "image"), "modelcar")]
    return []


def _mounts(container: Mapping[str, object], path: str) -> list[tuple[str, str]]:
    mounts_path = at(path, "volumeMounts")
    found = []
    for index, item in enumerate(entries(container.get("volumeMounts"), mounts_path)):
        mount = mapping(item, at(mounts_path, index))
        volume = text(mount.get("name"), at(at(mounts_path, index), "name"))
        mount_path = text(mount.get("mountPath"), at(at(mounts_path, index), "mountPath"))
        if volume and mount_path:
            found.append((volume, mount_path))
    return found
