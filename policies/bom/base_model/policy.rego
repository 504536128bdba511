package modelward.policies.bom.base_model

import data.modelward.lib

# METADATA
# title: Base model not allowed
# description: >-
#   When allowed_base_models is not empty, every base model the card or the BOM names must match
#   one of its glob patterns ("org/*" matches every model of org; "*" stops at "/").
# custom:
#   id: base-model-not-allowed
#   severity: high
#   remediation: >-
#     Use a model derived from an allowed base model, or add the base model to
#     allowed_base_models after review.
deny contains lib.finding("base-model-not-allowed", msg) if {
	patterns := lib.config("allowed_base_models", [])
	count(patterns) > 0
	some base in base_models
	not allowed(base, patterns)
	msg := sprintf("%s is derived from %s, which is not an allowed base model", [input.model.subject.ref, base])
}

# METADATA
# title: Card and BOM name different base models
# description: >-
#   The model card and the ML-BOM both name base models, and they disagree, so the model's
#   provenance is unclear.
# custom:
#   id: base-model-inconsistent
#   severity: medium
#   remediation: Correct the model card or the BOM so both name the same base models.
warn contains lib.finding("base-model-inconsistent", msg) if {
	card := {lower(m) | some m in lib.card_base_models}
	bom := {lower(m) | some m in lib.bom_base_models}
	count(card) > 0
	count(bom) > 0
	card != bom
	msg := sprintf("the model card names base model(s) %s but the ML-BOM names %s", [
		lib.listing([m | some m in card]),
		lib.listing([m | some m in bom]),
	])
}

allowed(base, patterns) if {
	some pattern in patterns
	glob.match(lower(pattern), ["/"], lower(base))
}

base_models := lib.card_base_models | lib.bom_base_models
