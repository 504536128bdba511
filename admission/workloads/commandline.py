"""A container's command line, split into the simple commands it runs.

``command`` and ``args`` are joined and ``$(VAR)``-expanded as Kubernetes does. When they run a
shell (``sh -c SCRIPT``), the script is tokenised with ``shlex``: ``;``, ``&&``, ``||``, ``|``,
``&`` and newlines separate commands, a backslash-newline continues a line, leading ``VAR=value``
words and ``env``, ``exec``, ``nohup``, ``export`` are stripped, and ``VAR=value`` lines hold for
the commands after them. A script that cannot be tokenised (unbalanced quotes) is reported, not
raised.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from modelward.admission.workloads.environment import EnvTable, expand_k8s, expand_vars
from modelward.admission.workloads.fields import at, charge, texts

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"})
PREFIXES = frozenset({"env", "exec", "nohup", "export", "command", "time"})
SEPARATORS = "();<>|&\n"
MAX_DEPTH = 4  # nested ``sh -c`` levels followed
TOKENISE_COST = 4  # work charged per script character: shlex is the slow step
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)
_CONTINUATION = re.compile(r"\\\r?\n")


@dataclass(frozen=True)
class Word:
    text: str
    origin: str  # the field the word came from, e.g. ``spec.containers[0].args[1]``


@dataclass(frozen=True)
class Command:
    """One simple command, the environment it runs with and the one its words expand in."""

    words: tuple[Word, ...]
    env: EnvTable  # includes ``VAR=value`` words before the command
    expansion: EnvTable  # without them: the shell expands the words first


@dataclass(frozen=True)
class Untokenisable:
    """A shell script ``shlex`` rejects; what it runs cannot be known."""

    script: Word
    reason: str


def container_argv(container: Mapping[str, object], path: str, env: EnvTable) -> list[Word]:
    """``command`` then ``args``, each word ``$(VAR)``-expanded."""
    words = []
    for key in ("command", "args"):
        key_path = at(path, key)
        for index, item in enumerate(texts(container.get(key), key_path)):
            origin = at(key_path, index)
            words.append(Word(expand_k8s(item, env, origin), origin))
    return words


def simple_commands(
    words: Sequence[Word], env: EnvTable, depth: int = 0
) -> Iterator[Command | Untokenisable]:
    """The simple commands ``words`` runs, following ``sh -c`` scripts."""
    rest, scope = _strip_prefix(words, env)
    script = _shell_script(rest)
    if script is None:
        yield Command(tuple(rest), scope, env)
        return
    if depth >= MAX_DEPTH:
        yield Untokenisable(script, f"shells nested more than {MAX_DEPTH} deep")
        return
    try:
        parts = _tokenise(script)
    except ValueError as exc:
        yield Untokenisable(script, str(exc))
        return
    for part in parts:
        body, assigned = _strip_prefix(part, scope)
        if body:
            yield from simple_commands(part, scope, depth + 1)
        else:
            scope = assigned


def _strip_prefix(words: Sequence[Word], env: EnvTable) -> tuple[list[Word], EnvTable]:
    """Drop leading assignments and wrappers; return the rest and ``env`` with the assignments."""
    for index, word in enumerate(words):
        match = _ASSIGNMENT.match(word.text)
        if match:
            value, unknown = expand_vars(match.group(2), env)
            env = env.with_values({match.group(1): None if unknown else value}, word.origin)
        elif word.text not in PREFIXES:
            return list(words[index:]), env
    return [], env


def _shell_script(words: Sequence[Word]) -> Word | None:
    """The script of ``sh [options] -c SCRIPT``, or None when ``words`` is no such call."""
    if not words or posixpath.basename(words[0].text) not in SHELLS:
        return None
    has_c = skip = False
    for word in words[1:]:
        option = word.text
        if skip or option == "--":
            skip = False
            continue
        if option in ("-o", "+o"):
            skip = True
        elif option.startswith(("-", "+")) and option != "-":
            has_c = has_c or (not option.startswith("--") and "c" in option[1:])
        else:
            return word if has_c else None
    return None


def _tokenise(script: Word) -> list[list[Word]]:
    """Split a shell script into the word lists of its simple commands."""
    charge(TOKENISE_COST * len(script.text), script.origin)
    lexer = shlex.shlex(
        _CONTINUATION.sub("", script.text), posix=True, punctuation_chars=SEPARATORS
    )
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    parts: list[list[Word]] = [[]]
    for token in lexer:
        if token and all(char in SEPARATORS for char in token):
            parts.append([])
        else:
            parts[-1].append(Word(token, script.origin))
    return [part for part in parts if part]
