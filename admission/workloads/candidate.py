"""``Candidate``: a model reference as found, before it is normalised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How the text is read: "id" a Hugging Face id, a URI or a path (vLLM, TGI, MODEL_ID);
# "uri" a URI or a path (storageUri); "oci" an image reference with or without oci://;
# "path" a path or a URI (MODEL_PATH).
Style = Literal["id", "uri", "oci", "path"]

VALUE_FROM = "set from a Secret/ConfigMap at runtime (valueFrom); admission cannot see the value"


@dataclass(frozen=True)
class Candidate:
    """Text in a model position, where it was found and what reads it."""

    raw: str
    style: Style
    origin: str
    source: str
    container: str | None = None
    revision: str | None = None
    trust_remote_code: bool = False
    unresolvable: str | None = None  # known before parsing (valueFrom, default model, ...)

    def within(self, container: str | None) -> Candidate:
        if container == self.container:
            return self
        return Candidate(self.raw, self.style, self.origin, self.source, container,
                         self.revision, self.trust_remote_code, self.unresolvable)  # fmt: skip


def unknown_variables(names: list[str]) -> str:
    """The reason for text that depends on variables admission cannot see."""
    listed = ", ".join(f"${name}" for name in sorted(set(names)))
    return f"depends on {listed}, set at runtime; admission cannot see the value"
