"""Candidates from a recognised model server's arguments and environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from modelward.admission.workloads.candidate import Candidate, Style, unknown_variables
from modelward.admission.workloads.commandline import Command, Word
from modelward.admission.workloads.environment import env_text, expand_vars
from modelward.admission.workloads.launchers import FALSE_WORDS, VLLM_DEFAULT, Launch, parse_flags


class Value(NamedTuple):
    text: str | None
    why: str | None  # why the value cannot be known


def launch_candidates(launch: Launch, command: Command) -> tuple[list[Candidate], set[str]]:
    """Every model ``launch`` loads, and the environment variables it reads them from."""
    spec, flags = launch.launcher, parse_flags(launch)
    trust = flags.trust if flags.trust is not None else _env_trust(launch, command)
    revision = _last(flags.get(spec.revisions), command) or _env(launch, command, "revision")
    models = _positional(launch) + flags.get(spec.models)
    found = [_candidate(w, "id", launch, command, revision, trust) for w in models]
    if not models:
        found += _fallback(launch, command, revision, trust)
    tokenizer_revision = _last(flags.get(spec.tokenizer_revisions), command)
    tokenizers = flags.get(spec.tokenizers) or (models if tokenizer_revision else [])
    found += [_candidate(w, "id", launch, command, tokenizer_revision, trust) for w in tokenizers]
    extras = flags.get((*spec.extras, *spec.adapters))
    found += [_candidate(w, "id", launch, command, None, trust) for w in extras]
    found += [_candidate(w, "path", launch, command, None, False) for w in flags.get(spec.paths)]
    repositories = flags.get(spec.repositories)
    found += [_candidate(w, "uri", launch, command, None, False) for w in repositories]
    return found, set(spec.env.values())


def _positional(launch: Launch) -> list[Word]:
    args = launch.args
    if launch.positional and args and not args[0].text.startswith("-"):
        return [args[0]]
    return []


def _candidate(
    word: Word,
    style: Style,
    launch: Launch,
    command: Command,
    revision: Value | None,
    trust: bool,
) -> Candidate:
    text, unknown = expand_vars(word.text, command.expansion)
    why = unknown_variables(unknown) if unknown else (revision.why if revision else None)
    return Candidate(
        raw=word.text if unknown else text,
        style=style,
        origin=word.origin,
        source=launch.launcher.source,
        revision=revision.text if revision else None,
        trust_remote_code=trust,
        unresolvable=why,
    )


def _fallback(
    launch: Launch, command: Command, revision: Value | None, trust: bool
) -> list[Candidate]:
    """The model named by the environment, else the server's default, else an unknown one."""
    spec, origin = launch.launcher, launch.at.origin
    name, model = spec.env.get("model"), _env(launch, command, "model")
    if name and model:
        raw = model.text if model.text is not None else f"${name}"
        word = Word(raw, command.env.origins.get(name, origin))
        found = _candidate(word, "id", launch, command, revision, trust)
        return [replace(found, unresolvable=model.why or found.unresolvable)]
    if spec.default_model:
        found = _candidate(Word(spec.default_model, origin), "id", launch, command, revision, trust)
        return [replace(found, source=f"{spec.source}-default")]
    if spec.source == "vllm":
        found = Candidate(launch.at.text, "id", origin, spec.source, trust_remote_code=trust)
        return [replace(found, unresolvable=VLLM_DEFAULT)]
    return []


def _last(words: Sequence[Word], command: Command) -> Value | None:
    """The value of the last of ``words`` (argparse keeps the last), expanded."""
    if not words:
        return None
    text, unknown = expand_vars(words[-1].text, command.expansion)
    return Value(None, unknown_variables(unknown)) if unknown else Value(text, None)


def _env(launch: Launch, command: Command, role: str) -> Value | None:
    """The value of the variable the launcher reads for ``role``, None when unset or empty."""
    name = launch.launcher.env.get(role)
    if name is None:
        return None
    text, why = env_text(command.env, name)
    return Value(text, why) if why or (text or "").strip() else None


def _env_trust(launch: Launch, command: Command) -> bool:
    """Remote code from the environment; a value admission cannot see counts as allowed."""
    value = _env(launch, command, "trust")
    if value is None:
        return False
    return value.why is not None or (value.text or "").strip().lower() not in FALSE_WORDS
