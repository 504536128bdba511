"""What the pickle VM learns while it runs: findings, imports, planted attributes, extensions.

One analysis covers every stream of one pickle file or member; a nested pickle gets a child
analysis that shares the operation budget and reports at the offset of its outer constant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from modelward.engine.facts import SEVERITY_RANK, Finding, ImportFact, Severity
from modelward.engine.scan.limits import Limits
from modelward.engine.scan.pickles.rules import LOADER_FINDING, Rule, Verdict, classify
from modelward.engine.scan.pickles.values import Call, Global, Opaque, SymDict, describe
from modelward.engine.scan.result import FileScan

PLANTING = "module attribute planting"
UNREVIEWED = "call of a callable nobody reviewed"
_UNSET = object()
_MAX_PER_ID = 25
_MAX_IMPORTS = 10_000


@dataclass
class OpBudget:
    """Work left for a file: opcodes to execute, and bytes to decode or re-analyse as pickles."""

    left: int
    bytes_left: int


class Analysis:
    """Findings and imports of one analysis, and the VM state that outlives a single stream."""

    def __init__(
        self,
        *,
        file: str,
        member: str | None,
        limits: Limits,
        depth: int,
        budget: OpBudget,
        runner: Callable[[Analysis, bytes], None],
        prefix: str = "",
        anchor: int | None = None,
        parent: Analysis | None = None,
    ) -> None:
        self.file, self.member, self.limits, self.depth = file, member, limits, depth
        self.where = file if member is None else f"{file}:{member}"
        self.budget, self.runner, self.prefix, self.anchor = budget, runner, prefix, anchor
        self.result = FileScan()
        self.events = 0
        # What one load leaves behind is shared with the pickles it loads in turn.
        self.seen: set[tuple[int, int]] = parent.seen if parent else set()
        self.planted: dict[str, object] = parent.planted if parent else {}
        self.extensions: dict[int, tuple[str, str]] = parent.extensions if parent else {}
        self.candidates: list[tuple[int, object]] = []
        #: Whether joblib's array layout is followed (array bytes skipped after a wrapper), and
        #: whether any array bytes were skipped that way.
        self.joblib_layout = True
        self.joblib_skipped = False
        #: Deserializers the pickle imported, and whether it called them.
        self.loaders: dict[str, tuple[int, bool]] = parent.loaders if parent else {}
        self._keys: set[tuple[str, str]] = set()
        self._imported: set[tuple[str, str]] = set()
        self._counts: dict[tuple[str, str], int] = {}

    def child(self, offset: int, via: str) -> Analysis:
        """An analysis for a pickle embedded at ``offset`` of this one."""
        anchor = offset if self.anchor is None else self.anchor
        return Analysis(
            file=self.file, member=self.member, limits=self.limits, depth=self.depth + 1,
            budget=self.budget, runner=self.runner, anchor=anchor, parent=self,
            prefix=f"{self.prefix}in a pickle embedded at offset {offset} ({via}): ",
        )  # fmt: skip

    # -- reporting ---------------------------------------------------------------------------

    def report(
        self,
        id_: str,
        severity: Severity,
        offset: int | None,
        technique: str,
        reason: str,
        key: str | None = None,
        symbol: str | None = None,
    ) -> None:
        """Add a finding (once per ``id_``/``key`` when a key is given); ``symbol`` is the import
        path it is about."""
        if key is not None:
            if (id_, key) in self._keys:
                return
            self._keys.add((id_, key))
        counted = (id_, severity)
        count = self._counts[counted] = self._counts.get(counted, 0) + 1
        if count > _MAX_PER_ID:
            return
        if SEVERITY_RANK[severity] >= SEVERITY_RANK["medium"]:
            self.events += 1
        where = offset if self.anchor is None else self.anchor
        inner = "" if self.anchor is None else f" (inner offset {offset})"
        self.result.findings.append(Finding(
            id=id_, severity=severity, file=self.file, member=self.member, offset=where,
            technique=technique, symbol=symbol,
            message=f"{self.where}: {self.prefix}{reason}{inner}",
        ))  # fmt: skip

    def incomplete(self, id_: str, severity: Severity, offset: int | None, technique: str,
                   reason: str, key: str | None = None) -> None:  # fmt: skip
        """Report that part of the data could not be analysed."""
        self.report(id_, severity, offset, technique, reason, key)
        self.result.complete = False
        if self.where not in self.result.unanalysed:
            self.result.unanalysed.append(self.where)

    def finish(self) -> None:
        """Report deserializers never called, and how many findings were left out."""
        for path, (offset, called) in self.loaders.items():
            if not called:
                self.report(LOADER_FINDING, "medium", offset, "nested deserialization",
                            f"references {path}, a deserializer, without calling it",
                            key=path, symbol=path)  # fmt: skip
        for (id_, severity), count in self._counts.items():
            if count > _MAX_PER_ID:
                first = next(f for f in self.result.findings if f.id == id_)
                self.result.findings.append(first.model_copy(update={
                    "severity": "info", "id": f"{id_}.more",
                    "message": f"{self.where}: {count - _MAX_PER_ID} more {severity} {id_} "
                               "findings are not listed",
                }))  # fmt: skip

    def take_bytes(self, size: int, offset: int, what: str) -> bool:
        """Reserve ``size`` bytes of decoding work; report the limit when it is exhausted."""
        if size <= self.budget.bytes_left:
            self.budget.bytes_left -= size
            return True
        self.incomplete("pickle.limit.decode", "medium", offset, "resource limit",
                        f"{what} of {size} bytes exceeds what is left of the decoding budget; "
                        "not analysed", key="decode")  # fmt: skip
        return False

    def max_rank(self) -> int:
        """Rank of the worst finding so far (-1 when there is none)."""
        return max((SEVERITY_RANK[f.severity] for f in self.result.findings), default=-1)

    def add_import(self, module: str, name: str, verdict: Verdict, offset: int | None = None
                   ) -> None:  # fmt: skip
        """Record an import fact once per module/name."""
        if (module, name) in self._imported:
            return
        if len(self._imported) >= _MAX_IMPORTS:
            self.incomplete("pickle.limit.imports", "medium", offset, "resource limit",
                            f"more than {_MAX_IMPORTS} distinct imports; the rest are not "
                            "recorded", key="imports")  # fmt: skip
            return
        self._imported.add((module, name))
        fact = ImportFact(file=self.file, member=self.member, module=module, name=name,
                          verdict=verdict)  # fmt: skip
        self.result.imports.append(fact)

    # -- globals -----------------------------------------------------------------------------

    def resolve_global(self, module: str, name: str, offset: int, via: str) -> object:
        """The value a loader's ``find_class(module, name)`` returns, with its verdict."""
        rule = classify(module, name)
        self.events += 1
        planted = self.planted.get(rule.path, _UNSET)
        if planted is not _UNSET:
            self.add_import(module, name, "denied", offset)
            self.report("pickle.build.planted_import", "critical", offset, PLANTING,
                        f"{via} reads {rule.path}, an attribute this pickle planted earlier; it "
                        f"yields {describe(planted)}", key=rule.path)  # fmt: skip
            return planted
        if rule.finding == LOADER_FINDING:
            self.loaders.setdefault(rule.path, (offset, False))
        if (module, name) not in self._imported:
            self.add_import(module, name, rule.verdict, offset)
            if rule.finding is not None and rule.severity is not None:
                self._report_rule(rule, module, name, offset, via)
        return Global(module, name, rule.path, rule.verdict, offset, rule.finding)

    def _report_rule(self, rule: Rule, module: str, name: str, offset: int, via: str) -> None:
        shown = f"{module}.{name}" if name else module
        if rule.path != shown:
            shown = f"{shown} (= {rule.path})"
        if rule.verdict == "denied":
            reason = f"{via} imports {shown}: denied, {rule.technique}"
        elif rule.finding == "pickle.global.main_class":
            reason = f"{via} imports {shown}, which the loading program's __main__ must define"
        else:
            reason = f"{via} imports {shown}, which is not on the ML checkpoint allowlist"
        assert rule.finding is not None and rule.severity is not None
        self.report(rule.finding, rule.severity, offset, rule.technique, reason,
                    symbol=rule.path)  # fmt: skip

    def unreviewed_call(self, func: Global, offset: int, how: str) -> None:
        """``how`` runs ``func``, which nobody reviewed: loading runs its code."""
        if func.finding == "pickle.global.main_class":
            return  # a class of the loading program: its own code, reported as such
        self.events += 1
        self.report("pickle.call.unreviewed", "high", offset, UNREVIEWED,
                    f"{how} {func.path}, which is not on the reviewed allowlist; loading runs "
                    "its code", key=f"{func.path}:{how}", symbol=func.path)  # fmt: skip

    def loader_called(self, path: str, offset: int) -> None:
        """A deserializer the pickle imported is called (its payload is judged separately)."""
        self.loaders[path] = (self.loaders.get(path, (offset, True))[0], True)

    def computed_global(self, module: object, name: object, offset: int) -> object:
        """STACK_GLOBAL whose operands are not constant strings."""
        self.add_import("<computed>", "<computed>", "unknown", offset)
        self.report("pickle.stack_global.computed", "high", offset, "computed import",
                    f"STACK_GLOBAL imports a name computed at load time: module "
                    f"{describe(module)}, name {describe(name)}")  # fmt: skip
        return Opaque("computed global", offset)

    def extension(self, code: int, offset: int) -> object:
        """EXT1/EXT2/EXT4: a global from the copyreg extension registry."""
        entry = self.extensions.get(code)
        target = f"{entry[0]}.{entry[1]}" if entry else "an unregistered code"
        self.report("pickle.ext_opcode", "high", offset, "copyreg extension registry",
                    f"EXT opcode loads extension code {code} ({target}); ML checkpoints never "
                    "use the extension registry", key=str(code))  # fmt: skip
        if entry is not None:
            return self.resolve_global(entry[0], entry[1], offset, f"extension code {code}")
        self.add_import("<extension>", str(code), "unknown", offset)
        return Opaque(f"extension code {code}", offset)

    def memo_missing(self, key: int, offset: int) -> object:
        """GET of a memo slot no PUT filled: the loader would fail here."""
        self.report("pickle.memo.missing", "medium", offset, "memo confusion",
                    f"memo slot {key} is read before it is written", key=str(key))  # fmt: skip
        return Opaque(f"missing memo entry {key}", offset)

    # -- mutation ----------------------------------------------------------------------------

    def build(self, target: object, state: object, offset: int) -> None:
        """BUILD: ``target.__setstate__(state)`` or an update of its ``__dict__``."""
        if isinstance(target, Call):
            target.state = state
            self._callables_in_state(target, state, offset)
        items = _state_items(state)
        if isinstance(target, Global):
            names = ", ".join(k for k, _ in items if isinstance(k, str)) or describe(state)
            self.report("pickle.build.attribute_planting", "high", offset, PLANTING,
                        f"BUILD sets attributes ({names}) on the imported object "
                        f"{target.path}")  # fmt: skip
            for key, value in items:
                if isinstance(key, str):
                    self.planted[f"{target.path}.{key}"] = value
            return
        dunders = [k for k, _ in items if isinstance(k, str) and k[:2] == "__" == k[-2:]]
        if dunders:
            self.report("pickle.build.attribute_planting", "high", offset, PLANTING,
                        f"BUILD sets {', '.join(dunders)} on {describe(target)}")  # fmt: skip

    def _callables_in_state(self, target: Call, state: object, offset: int) -> None:
        """An object of a reviewed class keeps unreviewed callables in its state to call them
        when it is used (a FunctionTransformer's func, a module's hooks): handed to code that
        calls them."""
        owner = target.func
        if not isinstance(owner, Global) or owner.verdict != "allowed":
            return
        for value in _globals_in(state):
            if value.verdict == "unknown":
                self.unreviewed_call(value, offset, f"{owner.path} keeps in its state, to call,")

    def mutate(self, target: object, offset: int, opcode: str) -> None:
        """SETITEM(S)/APPEND(S)/ADDITEMS applied to an imported object itself."""
        if isinstance(target, Global):
            self.report("pickle.global.mutated", "high", offset, PLANTING,
                        f"{opcode} modifies the imported object {target.path}")  # fmt: skip


def _globals_in(value: object, depth: int = 4, budget: int = 256) -> list[Global]:
    """Imported objects held in a state value (dicts, lists, tuples, containers), bounded."""
    found: list[Global] = []
    todo: list[tuple[object, int]] = [(value, depth)]
    while todo and budget > 0:
        budget -= 1
        item, level = todo.pop()
        if isinstance(item, Global):
            found.append(item)
        elif level <= 0:
            continue
        elif isinstance(item, tuple | list):
            todo.extend((child, level - 1) for child in item[:64])
        elif isinstance(item, SymDict):
            todo.extend((v, level - 1) for _k, v in item.pairs[:64])
        elif isinstance(item, Call):
            todo.append((item.args, level - 1))
    return found


def _state_items(state: object) -> list[tuple[object, object]]:
    """Attribute name/value pairs a BUILD state sets (dict state and slot state)."""
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    return [pair for part in parts if isinstance(part, SymDict) for pair in part.pairs]
