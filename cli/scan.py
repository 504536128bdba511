"""``modelward scan`` and ``modelward facts``: a model on local disk, end to end."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from modelward.cli.exit import OUTCOME_EXIT
from modelward.cli.formats import write_report
from modelward.cli.options import (
    BehaviourBudgetOpt,
    BehaviourFlags,
    BehaviourOpt,
    BomOpt,
    ChainOpt,
    DataOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    IdentityOpt,
    IssuerOpt,
    KeyOpt,
    OfflineOpt,
    OpaUrlOpt,
    OutputFormat,
    OutputOpt,
    PolicyOpt,
    ProbeInputsOpt,
    QuietOpt,
    SignatureOpt,
    SummaryOpt,
    TrustRootOpt,
    VulnDbOpt,
    collect_options,
    dump_json,
    engine_name,
    go_offline,
    signature_options,
    write_output,
)
from modelward.cli.progress import collect_progress, download_progress
from modelward.engine.collectors import CollectOptions
from modelward.engine.facts import Facts
from modelward.engine.pipeline import collect_facts, decide
from modelward.engine.policy.bundle import load_bundle
from modelward.engine.policy.evaluators.factory import close_evaluator, make_evaluator
from modelward.engine.refs import ModelRef
from modelward.engine.resolvers import resolve

ModelArg = Annotated[str, typer.Argument(help="Model file or directory (or a model reference).")]


def scan_command(
    model: ModelArg,
    output_format: FormatOpt = OutputFormat.table,
    policy: PolicyOpt = None,
    data: DataOpt = None,
    engine: EngineOpt = Engine.embedded,
    opa_url: OpaUrlOpt = None,
    output: OutputOpt = None,
    signature: SignatureOpt = None,
    key: KeyOpt = None,
    certificate_chain: ChainOpt = None,
    identity: IdentityOpt = None,
    issuer: IssuerOpt = None,
    trust_root: TrustRootOpt = None,
    bom: BomOpt = None,
    vuln_db: VulnDbOpt = None,
    quiet: QuietOpt = False,
    summary: SummaryOpt = False,
    offline: OfflineOpt = False,
    behaviour: BehaviourOpt = False,
    probe_inputs: ProbeInputsOpt = None,
    behaviour_budget: BehaviourBudgetOpt = None,
) -> None:
    """Collect facts about MODEL, evaluate the policies; exit 0 allow, 1 deny, 2 error."""
    go_offline(offline)
    bundle = load_bundle(policy, data)
    sig = signature_options(signature, key, certificate_chain, identity, issuer, trust_root)
    flags = BehaviourFlags(behaviour, probe_inputs, behaviour_budget)
    options = collect_options(bundle, sig, bom, vuln_db, flags)
    evaluator = make_evaluator(engine_name(engine, opa_url), opa_url)
    try:
        facts = collect(model, options)
        decision = decide(facts, bundle, evaluator)
    finally:
        close_evaluator(evaluator)
    write_report(facts, decision, output_format.value, output, quiet=quiet, summary=summary)
    raise typer.Exit(OUTCOME_EXIT[decision.outcome])


def facts_command(
    model: ModelArg,
    output: OutputOpt = None,
    policy: PolicyOpt = None,
    signature: SignatureOpt = None,
    key: KeyOpt = None,
    certificate_chain: ChainOpt = None,
    identity: IdentityOpt = None,
    issuer: IssuerOpt = None,
    trust_root: TrustRootOpt = None,
    bom: BomOpt = None,
    vuln_db: VulnDbOpt = None,
    offline: OfflineOpt = False,
    behaviour: BehaviourOpt = False,
    probe_inputs: ProbeInputsOpt = None,
    behaviour_budget: BehaviourBudgetOpt = None,
) -> None:
    """Print the facts document of MODEL as JSON (no policy evaluation)."""
    go_offline(offline)
    sig = signature_options(signature, key, certificate_chain, identity, issuer, trust_root)
    flags = BehaviourFlags(behaviour, probe_inputs, behaviour_budget)
    options = collect_options(load_bundle(policy, None), sig, bom, vuln_db, flags)
    write_output(dump_json(collect(model, options).to_json_dict()), output)


def collect(model: str, options: CollectOptions | None = None) -> Facts:
    with download_progress() as fetching:
        source = resolve(ModelRef.parse(model), progress=fetching)
    analysing = options is not None and options.behaviour is not None
    with collect_progress(sum(f.size for f in source.files), analysing) as (hashed, analysed):
        if options is not None and options.behaviour is not None and analysed is not None:
            options = replace(options, behaviour=replace(options.behaviour, progress=analysed))
        return collect_facts(source, progress=hashed, options=options)
