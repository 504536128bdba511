"""Model flags of programs admission does not recognise: ``--model``, ``--model-id`` and kin.

A recognised model server (``launchers``) is read by its own flags. On any other command a flag
names a model reference only when its value says so unmistakably (``--flag VALUE`` or
``--flag=VALUE``, ``_`` read as ``-``):

- ``--model``, ``--model-id`` and ``--model-name-or-path`` with a Hugging Face id in the
  ``org/name`` form (``@revision`` optional; ``--revision`` or ``--model-revision`` pins it), or
  with a URI of a model scheme;
- ``--model-path`` and ``--model-uri`` with a URI of a model scheme.

Model schemes are those ``ModelRef.parse`` reads, except ``http(s)://`` (API endpoints) and
``file://`` (container paths); KServe's ``oci+native://`` and ``oci+fetch://`` count as ``oci``.
Nothing else is a reference here: a path, a bare name (``gpt-4o``, a served model name), an
endpoint, a flag that names where a model is *written* (``--model-dir``, ``--output-dir``), or a
value that depends on a variable set at runtime. Reading those as references would deny
workloads that load no model; the recognised servers and the ``MODEL_ID``-like variables
(``environment.GENERIC_ENV``) cover the runtime cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from modelward.admission.workloads.candidate import Candidate
from modelward.admission.workloads.commandline import Command, Word
from modelward.admission.workloads.environment import expand_vars
from modelward.admission.workloads.launchers import FALSE_WORDS
from modelward.engine.refs import HF_REPO, URI_SCHEMES

SOURCE = "args"
ID_FLAGS = frozenset({"--model", "--model-id", "--model-name-or-path"})
URI_FLAGS = frozenset({"--model-path", "--model-uri"})
REVISION_FLAGS = frozenset({"--revision", "--model-revision"})
TRUST_FLAG = "--trust-remote-code"
MODEL_SCHEMES = frozenset(URI_SCHEMES) - {"http", "https", "file"}
OCI_ALIASES = frozenset({"oci+native", "oci+fetch"})
_REVISION_SEP = re.compile(r"[@:]")


def flag_candidates(command: Command) -> list[Candidate]:
    """The model references ``command``'s flags name (see the module docstring)."""
    flags = list(_flags(command.words))
    revision = _last(flags, REVISION_FLAGS, command)
    trust = _trust(flags)
    found = []
    for name, word in flags:
        if name not in ID_FLAGS and name not in URI_FLAGS:
            continue
        value, unknown = expand_vars(word.text, command.expansion)
        value = value.strip()
        if unknown or not names_model(name, value):
            continue
        pin = revision if "://" not in value else None
        found.append(
            Candidate(value, "id", word.origin, SOURCE, revision=pin, trust_remote_code=trust)
        )
    return found


def names_model(flag: str, value: str) -> bool:
    """Whether ``value`` of ``flag`` names a model reference (a model-scheme URI, or an
    ``org/name`` id for the ``ID_FLAGS``)."""
    scheme, sep, _ = value.partition("://")
    if sep:
        scheme = scheme.lower()
        return scheme in MODEL_SCHEMES or scheme in OCI_ALIASES
    if flag not in ID_FLAGS:
        return False
    repo = _REVISION_SEP.split(value, maxsplit=1)[0]
    return repo.count("/") == 1 and HF_REPO.match(repo) is not None


def _flags(words: Sequence[Word]) -> Iterator[tuple[str, Word]]:
    """``(--name, value word)`` for every long flag; a flag without a value gives ``""``."""
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not word.text.startswith("--"):
            continue
        name, eq, value = word.text.partition("=")
        name = name.replace("_", "-")
        if eq:
            yield name, Word(value, word.origin)
        elif index < len(words) and not words[index].text.startswith("-"):
            if name == TRUST_FLAG:  # a switch: what follows is not its value
                yield name, Word("", word.origin)
                continue
            yield name, words[index]
            index += 1
        else:
            yield name, Word("", word.origin)


def _last(flags: list[tuple[str, Word]], names: frozenset[str], command: Command) -> str | None:
    """The value of the last of ``names`` (argparse keeps the last), when it is known."""
    values = [word for name, word in flags if name in names]
    if not values:
        return None
    text, unknown = expand_vars(values[-1].text, command.expansion)
    return None if unknown or not text.strip() else text.strip()


def _trust(flags: list[tuple[str, Word]]) -> bool:
    values = [word.text for name, word in flags if name == TRUST_FLAG]
    return bool(values) and values[-1].strip().lower() not in FALSE_WORDS
