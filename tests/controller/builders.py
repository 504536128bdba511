"""Models, worker results, configuration and a real publisher for the controller tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from modelward.controller.config import ControllerConfig
from modelward.controller.publisher import Publisher
from modelward.engine.collectors import CollectOptions
from modelward.engine.policy.bundle import PolicyBundle
from modelward.engine.policy.evaluators.embedded import EmbeddedEvaluator
from modelward.engine.refs import ModelRef
from modelward.engine.verdicts.keys import generate_keypair, load_private_key
from modelward.engine.verdicts.registry.sqlite import SqliteRegistry
from modelward.engine.verdicts.signed import SignedVerdict
from modelward.engine.vetting.result import VettingResult, encode_result
from modelward.engine.vetting.worker import TOOL, vet_reference
from tests.scan.builders import safetensors_bytes, system_pickle, torch_zip


def write_benign(folder: Path) -> str:
    """A small safetensors model folder; returns its canonical reference."""
    folder.mkdir(parents=True)
    header = {"embed.weight": {"dtype": "F32", "shape": [16, 16], "data_offsets": [0, 1024]}}
    (folder / "model.safetensors").write_bytes(safetensors_bytes(header, bytes(1024)))
    (folder / "config.json").write_text(json.dumps({"model_type": "bert"}))
    return ModelRef.parse(str(folder)).canonical


def write_malicious(path: Path) -> str:
    """A PyTorch-style checkpoint whose pickle calls os.system (never loaded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(torch_zip(system_pickle(str(path.parent / "LOADED"))))
    return ModelRef.parse(str(path)).canonical


@dataclass(frozen=True)
class Models:
    """References on disk and what the real worker says about each."""

    benign: str
    other: str
    malicious: str
    results: dict[str, VettingResult]

    def line(self, reference: str) -> str:
        return encode_result(self.results[reference])

    def forged(self, reference: str, outcome: str) -> str:
        """The worker's result with its claimed outcome replaced (findings dropped)."""
        result = self.results[reference]
        assert result.decision is not None
        decision = result.decision.model_copy(update={"outcome": outcome, "deny": []})
        return encode_result(result.model_copy(update={"decision": decision}))


def make_models(root: Path, bundle: PolicyBundle) -> Models:
    benign = write_benign(root / "benign")
    other = write_benign(root / "other")
    malicious = write_malicious(root / "evil" / "model.pt")
    evaluator = EmbeddedEvaluator()
    results = {
        ref: vet_reference(ref, CollectOptions(), bundle, evaluator)
        for ref in (benign, other, malicious)
    }
    return Models(benign, other, malicious, results)


def source_error(reference: str, *, transient: bool) -> str:
    result = VettingResult(
        reference=reference,
        status="source-error",
        tool=TOOL,
        error="connection reset by peer" if transient else "no such model",
        transient=transient,
    )
    return encode_result(result)


def controller_config(**overrides: Any) -> ControllerConfig:
    """The defaults, with ``overrides`` as nested mappings (``queue={"max_attempts": 2}``)."""
    raw: dict[str, Any] = {"signing_key": "unused.pem", "registry": "verdicts.db", **overrides}
    return ControllerConfig.model_validate(raw)


class RecordingRegistry(SqliteRegistry):
    """A SQLite registry that remembers every verdict put into it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.puts: list[SignedVerdict] = []

    def put(self, signed: SignedVerdict) -> None:
        self.puts.append(signed)
        super().put(signed)


def make_publisher(
    bundle: PolicyBundle, registry_path: Path, private_pem: bytes | None = None
) -> Publisher:
    """A publisher signing with ``private_pem`` (a new key when None) into a recording registry."""
    key = load_private_key(private_pem or generate_keypair()[0])
    registry = RecordingRegistry(registry_path)
    return Publisher(bundle, EmbeddedEvaluator(), key, registry, timedelta(days=30))
