"""Classification of pickle globals: the reviewed allowlist, the denylist, and their verdicts.

Order of the checks: a dunder name is denied, an exact allowlist entry or a reviewed library
family is allowed, a deserializer is a loader (judged by what it is given), a denylist prefix is
denied, anything else is unknown. The verdict is about the reference; what the pickle *does*
with it (calling it) is judged where it happens. docs/pickle-allowlist.md says why each entry is
safe.
"""

from __future__ import annotations

import _compat_pickle
from functools import lru_cache
from typing import Final, Literal, NamedTuple

from modelward.engine.facts import Severity
from modelward.engine.scan.pickles.allowlist import ALLOWED, reviewed_family
from modelward.engine.scan.pickles.denylist import (
    DANGEROUS_NAMES,
    DENIED,
    DUNDER,
    NESTED,
    RESOLVER,
)

Verdict = Literal["allowed", "unknown", "denied"]

#: Deserializers; the analysis follows a call into its payload.
LOADERS: Final = frozenset({
    "pickle.loads", "pickle.load", "pickle._loads", "pickle._load", "dill.loads", "dill.load",
    "dill._dill.loads", "dill._dill.load", "cloudpickle.loads", "cloudpickle.load",
    "joblib.load", "torch.load", "torch.serialization.load", "torch.storage._load_from_bytes",
    "numpy.loads", "numpy.load", "pandas.read_pickle", "jsonpickle.decode",
})  # fmt: skip
#: The one deserializer real checkpoints call: torch storages pickled with plain ``pickle``
#: reduce to it. It is judged by the payload it is given, which is analysed like the file.
PAYLOAD_JUDGED: Final = frozenset({"torch.storage._load_from_bytes"})
LOADER_FINDING: Final = "pickle.global.loader"

#: Private or renamed modules that stand for a public one.
_ALIASES: Final = {
    "posix": "os", "nt": "os", "_io": "io", "_operator": "operator", "_functools": "functools",
    "_pickle": "pickle", "_codecs": "codecs", "_socket": "socket", "_posixsubprocess": "subprocess",
    "_collections": "collections", "_marshal": "marshal", "_ctypes": "ctypes", "_ssl": "ssl",
    "exceptions": "builtins", "__builtin__": "builtins",
}  # fmt: skip


class Rule(NamedTuple):
    """The verdict on one global, how bad it is, and why."""

    verdict: Verdict
    severity: Severity | None
    finding: str | None
    technique: str
    path: str


def normalise(module: str, name: str) -> str:
    """The dotted path a loader resolves ``module``/``name`` to (Python 2 names mapped)."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        module, name = mapped
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    head, _, rest = module.partition(".")
    head = _ALIASES.get(head, head)
    module = f"{head}.{rest}" if rest else head
    return f"{module}.{name}" if name else module


def _denied(path: str) -> str | None:
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        technique = DENIED.get(".".join(parts[:end]))
        if technique is not None:
            return technique
    return None


@lru_cache(maxsize=4096)
def classify(module: str, name: str) -> Rule:
    """Verdict on the global ``module``/``name`` as a loader's ``find_class`` would see it."""
    path = normalise(module, name)
    if any(part.startswith("__") and part.endswith("__") for part in name.split(".")):
        return Rule("denied", "critical", "pickle.global.denied", DUNDER, path)
    if path in ALLOWED or ("." not in name and reviewed_family(*path.rpartition(".")[::2])):
        return Rule("allowed", None, None, "allowlisted", path)
    if path in PAYLOAD_JUDGED:
        return Rule("unknown", None, LOADER_FINDING, NESTED, path)
    technique = _denied(path)
    if technique is not None:
        return Rule("denied", "critical", "pickle.global.denied", technique, path)
    if module == "__main__":
        return _main(name, path)
    return Rule("unknown", "medium", "pickle.global.unknown", "non-allowlisted import", path)


def _main(name: str, path: str) -> Rule:
    """``__main__`` names resolve in the loading program, which the file cannot add code to."""
    if name in DANGEROUS_NAMES or name.split(".")[0] in DANGEROUS_NAMES:
        return Rule("denied", "critical", "pickle.global.denied", RESOLVER, path)
    if "." not in name and name[:1].isupper():
        return Rule("unknown", "low", "pickle.global.main_class", "class of the loading program",
                    path)  # fmt: skip
    return Rule("unknown", "medium", "pickle.global.unknown", "non-allowlisted import", path)
