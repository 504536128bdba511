"""Verify one model's signature on its own (``modelward verify``), with the scan's own code."""

from __future__ import annotations

from pathlib import Path

from modelward.engine.collectors import CollectOptions, SignatureOptions
from modelward.engine.collectors.files import FilesCollector
from modelward.engine.collectors.hashes import HashesCollector
from modelward.engine.collectors.signature import SignatureCollector
from modelward.engine.errors import Error
from modelward.engine.facts import SignatureFacts
from modelward.engine.pipeline import collect_facts
from modelward.engine.resolvers.local import NoModelFiles
from modelward.engine.signatures import SignatureConfigError
from modelward.engine.signatures.coverage import judge
from modelward.engine.signatures.verify import requested_method, verify_bundle_file

COLLECTORS = (FilesCollector, HashesCollector, SignatureCollector)


def verify_model(model: Path, options: SignatureOptions) -> SignatureFacts:
    """The ``signature`` facts of the model at ``model``.

    When ``model`` does not exist, the signature given in ``options`` is verified on its own
    and its signed files are listed (``files_present: false``).
    """
    requested_method(options)
    if not model.exists():
        if options.signature is None:
            raise SignatureConfigError(
                f"{model}: no such model; pass --signature to check a signature on its own"
            )
        if not options.signature.is_file():
            raise SignatureConfigError(f"{options.signature}: no such signature file")
        return judge(verify_bundle_file(options.signature, options), None)
    try:
        facts = collect_facts(
            str(model), options=CollectOptions(signature=options), collectors=COLLECTORS
        )
    except NoModelFiles:
        if options.signature is None:
            raise
        return judge(verify_bundle_file(options.signature, options), None)
    status = facts.collection.collectors.get("signature")
    if status is not None and status.status == "error":
        raise Error(status.reason or "the signature could not be checked")
    if facts.signature is None:
        raise Error("the signature could not be checked")
    return facts.signature
