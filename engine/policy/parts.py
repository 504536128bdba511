"""Can a bundle's decision be evaluated as a model part and a request part?

``data.modelward.main.deny`` is the union of ``model_deny`` (every category but admission) and
``request_deny`` (the admission category), and likewise for ``warn``. Admission evaluates the
model part once per verdict on a reduced input, ``{"model", "admission": {"verdict": {"trusted",
"revoked"}, "reference": {"unresolvable"}}}``, and remembers it; that gives the same decision
only when the model part reads nothing else and is deterministic. ``split_problem`` checks that
on the parsed modules (regorus's AST): every module outside the admission category and the entry
package may read ``input`` only below ``input.model`` and call no builtin whose answer changes
from one call to the next; the entry package may also read the verdict's trust, whether it is a
revocation, whether the reference resolved, and ``time.now_ns`` (exemptions end with a UTC day).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators import MODEL_PART, REQUEST_PART, defines
from modelward.engine.policy.evaluators.embedded import prepare_engine

REQUEST_PACKAGES = re.compile(r"^modelward\.policies\.admission(\.|$)")
ENTRY_PACKAGE = "modelward.main"
ENTRY_READS = (("admission",), ("admission", "verdict", "trusted"),
               ("admission", "verdict", "revoked"),
               ("admission", "reference", "unresolvable"))  # fmt: skip
# Builtins whose answer depends on when or where they run, not only on their arguments.
NONDETERMINISTIC = {
    "time.now_ns", "http.send", "rand.intn", "uuid.rfc4122", "net.lookup_ip_addr",
    "opa.runtime", "io.jwt.decode_verify", "crypto.x509.parse_and_verify_certificates",
    "crypto.x509.parse_and_verify_certificates_with_options",
}  # fmt: skip


@dataclass(frozen=True)
class Use:
    """One reference to ``input`` (its static path) or one call, at ``file:line``."""

    file: str
    line: int
    input_path: tuple[str, ...] | None = None  # None: a call
    call: str = ""


def split_problem(bundle: PolicyBundle) -> str | None:
    """Why the bundle cannot be evaluated in two parts; None when it can."""
    for entry in (MODEL_PART, REQUEST_PART):
        if not defines(bundle, entry):
            return f"the bundle defines no {entry.deny_rule} rule"
    engine = prepare_engine(bundle, bundle.policies)  # PolicyError: a module does not parse
    for module in json.loads(engine.get_ast_as_json()):
        problem = _module_problem(module)
        if problem:
            return problem
    return None


def _module_problem(module: dict[str, Any]) -> str | None:
    ast = module["ast"]
    package = ".".join(_chain(ast["package"]["refr"]) or ())
    if REQUEST_PACKAGES.match(package):
        return None  # evaluated on every request with the whole input
    is_entry = package == ENTRY_PACKAGE
    for use in uses(ast, module["source"]["file"]):
        where = f"{use.file}:{use.line}"
        if use.input_path is None:
            if use.call in NONDETERMINISTIC and not (is_entry and use.call == "time.now_ns"):
                return f"{where} calls {use.call}, whose answer changes between calls"
        elif not _model_read(use.input_path, is_entry):
            shown = ".".join(("input", *use.input_path))
            return f"{where} reads {shown}, which the model part does not receive"
    return None


def _model_read(path: tuple[str, ...], is_entry: bool) -> bool:
    return (len(path) >= 1 and path[0] == "model") or (is_entry and path in ENTRY_READS)


def uses(ast: Any, file: str) -> Iterator[Use]:
    """Every reference to ``input`` and every call in a module's AST."""
    if isinstance(ast, list):
        for item in ast:
            yield from uses(item, file)
        return
    if not isinstance(ast, dict):
        return
    for kind in ("RefDot", "RefBrack", "Var"):
        node = ast.get(kind)
        if isinstance(node, dict):
            chain = _chain(ast)
            if chain and chain[0] == "input":
                yield Use(file, _line(node), input_path=tuple(chain[1:]))
                yield from uses(_indexes(ast), file)
                return
    call = ast.get("Call")
    if isinstance(call, dict):
        name = _chain(call.get("fcn"))
        if name:
            yield Use(file, _line(call), call=".".join(name))
    for key, value in ast.items():
        if key not in ("span", "source"):
            yield from uses(value, file)


def _chain(expr: Any) -> list[str] | None:
    """The root variable and the static fields after it, up to the first computed index."""
    path: list[str] = []
    while isinstance(expr, dict):
        if "Var" in expr:
            return [expr["Var"]["value"], *reversed(path)]
        if "RefDot" in expr:
            path.append(expr["RefDot"]["field"][1])
            expr = expr["RefDot"]["refr"]
        elif "RefBrack" in expr:
            index = expr["RefBrack"]["index"]
            if "String" in index:
                path.append(index["String"]["value"])
            else:
                path.clear()  # computed: only what comes before it is known
            expr = expr["RefBrack"]["refr"]
        else:
            return None
    return None


def _indexes(expr: Any) -> list[Any]:
    """The computed indexes inside a reference chain (they may use input too)."""
    found = []
    while isinstance(expr, dict):
        if "RefBrack" in expr:
            found.append(expr["RefBrack"]["index"])
            expr = expr["RefBrack"]["refr"]
        elif "RefDot" in expr:
            expr = expr["RefDot"]["refr"]
        else:
            break
    return found


def _line(node: dict[str, Any]) -> int:
    span = node.get("span") or {}
    return int(span.get("line", 0))
