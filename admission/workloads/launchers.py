"""Model servers and the flags they load models from: vLLM, TGI, SGLang, KServe, Triton.

A launcher is recognised anywhere in a simple command (``vllm serve``, ``python -m
vllm.entrypoints...``, ``text-generation-launcher``, ``tritonserver``, ``-m sglang.launch_server``,
``-m huggingfaceserver``), or from the image when the container sets no ``command``. Long flags
match as ``--flag value`` or ``--flag=value``, with ``_`` read as ``-`` (vLLM and argparse accept
both).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modelward.admission.workloads.commandline import Command, Word
from modelward.admission.workloads.environment import expand_vars

VLLM_DEFAULT = (
    "vLLM runs without a model argument admission recognises, so it loads its built-in "
    "default, which depends on the vLLM version"
)
TGI_DEFAULT_MODEL = "bigscience/bloom-560m"
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class Launcher:
    """Which flags of one model server name models, revisions and remote code."""

    source: str
    models: tuple[str, ...]
    revisions: tuple[str, ...] = ()
    tokenizers: tuple[str, ...] = ()
    tokenizer_revisions: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()  # further models (speculative decoding)
    adapters: tuple[str, ...] = ()  # ``NAME=REF ...`` lists (LoRA modules)
    paths: tuple[str, ...] = ()  # local model directories
    repositories: tuple[str, ...] = ()  # URIs or paths (Triton model repositories)
    trust: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # role -> variable it reads
    default_model: str | None = None  # what it loads when no model is given


VLLM = Launcher(
    "vllm",
    models=("--model",),
    revisions=("--revision",),
    tokenizers=("--tokenizer",),
    tokenizer_revisions=("--tokenizer-revision",),
    extras=("--speculative-model",),
    adapters=("--lora-modules",),
    trust="--trust-remote-code",
)
TGI = Launcher(
    "tgi",
    models=("--model-id",),
    revisions=("--revision",),
    trust="--trust-remote-code",
    env={"model": "MODEL_ID", "revision": "REVISION", "trust": "TRUST_REMOTE_CODE"},
    default_model=TGI_DEFAULT_MODEL,
)
SGLANG = Launcher(
    "sglang",
    models=("--model-path", "--model"),
    revisions=("--revision",),
    tokenizers=("--tokenizer-path",),
    trust="--trust-remote-code",
)
HF_SERVER = Launcher(
    "huggingfaceserver",
    models=("--model-id",),
    revisions=("--model-revision",),
    tokenizer_revisions=("--tokenizer-revision",),
    paths=("--model-dir",),
    trust="--trust-remote-code",
)
TRITON = Launcher("triton", models=(), repositories=("--model-repository", "--model-store"))

PROGRAMS = {"text-generation-launcher": TGI, "tritonserver": TRITON}
MODULES = {
    "vllm.entrypoints": VLLM,
    "sglang.launch_server": SGLANG,
    "huggingfaceserver": HF_SERVER,
}
# Images whose entrypoint is the server itself: (image name part, launcher, positional model).
IMAGES = (
    ("vllm-openai", VLLM, True),
    ("text-generation-inference", TGI, False),
    ("huggingfaceserver", HF_SERVER, False),
)


@dataclass(frozen=True)
class Launch:
    """A launcher found in a command: its own words, its arguments, a positional model."""

    launcher: Launcher
    at: Word  # the word that named it (program, module or image)
    args: tuple[Word, ...]
    positional: bool


def detect(command: Command) -> Launch | None:
    """The first launcher ``command`` runs, or None; program words are variable-expanded."""
    words = command.words
    texts = [expand_vars(word.text, command.expansion)[0] for word in words] + [""]
    for index, word in enumerate(words):
        name, following = posixpath.basename(texts[index]), texts[index + 1]
        if name == "vllm" and following == "serve":
            return Launch(VLLM, word, words[index + 2 :], True)
        if name in PROGRAMS:
            return Launch(PROGRAMS[name], word, words[index + 1 :], False)
        if texts[index] == "-m":
            for module, launcher in MODULES.items():
                if following == module or following.startswith(module + "."):
                    return Launch(launcher, words[index + 1], words[index + 2 :], False)
    return None


def detect_image(image: Word, args: Sequence[Word]) -> Launch | None:
    """The launcher an image runs when the container leaves its entrypoint alone."""
    for part, launcher, positional in IMAGES:
        if part in image.text:
            return Launch(launcher, image, tuple(args), positional)
    return None


@dataclass
class Flags:
    """The flags a launcher reads, in the order given."""

    values: list[tuple[str, Word]] = field(default_factory=list)
    trust: bool | None = None

    def get(self, names: Sequence[str]) -> list[Word]:
        return [word for name, word in self.values if name in names]


def parse_flags(launch: Launch) -> Flags:
    """Read the launcher's flags from its arguments; unknown flags are skipped."""
    spec, args, flags = launch.launcher, launch.args, Flags()
    valued = {*spec.models, *spec.revisions, *spec.tokenizers, *spec.tokenizer_revisions}
    valued |= {*spec.extras, *spec.paths, *spec.repositories}
    index = 0
    while index < len(args):
        word = args[index]
        name, eq, value = word.text.partition("=")
        name = name.replace("_", "-") if name.startswith("--") else name
        index += 1
        if spec.trust and name in (spec.trust, "--no-" + spec.trust[2:]):
            flags.trust = name == spec.trust and not (eq and value.lower() in FALSE_WORDS)
        elif name in valued and eq:
            flags.values.append((name, Word(value, word.origin)))
        elif name in valued and index < len(args) and not args[index].text.startswith("-"):
            flags.values.append((name, args[index]))
            index += 1
        elif name in spec.adapters:
            index = _adapters(args, index, name, flags.values)
    return flags


def _adapters(args: Sequence[Word], index: int, name: str, into: list[tuple[str, Word]]) -> int:
    """Collect ``NAME=REF`` or JSON ``{"path": REF}`` words up to the next flag."""
    while index < len(args) and not args[index].text.startswith("-"):
        word = args[index]
        into.append((name, Word(_adapter_ref(word.text), word.origin)))
        index += 1
    return index


def _adapter_ref(text: str) -> str:
    if not text.lstrip().startswith("{"):
        return text.partition("=")[2] or text
    try:
        spec = json.loads(text)
    except (ValueError, RecursionError):
        return text
    path = spec.get("path") if isinstance(spec, dict) else None
    return path if isinstance(path, str) else text
