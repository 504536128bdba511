"""Rego policy: bundles with their METADATA (``bundle``) and configuration schema
(``config_schema``), the model/request split (``parts``),
generated docs (``doc``), ``test_`` rules (``testing``) and the evaluators (``evaluators``).
Imports the spine only: a policy decides on facts, never on how they were collected.
"""
