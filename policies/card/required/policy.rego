package modelward.policies.card.required

import data.modelward.lib

# METADATA
# title: Model card required
# description: The configuration (require_model_card) requires a model card for every model.
# custom:
#   id: model-card-required
#   severity: medium
#   remediation: Add a README.md model card with YAML front matter (license, base_model, datasets).
deny contains lib.finding("model-card-required", msg) if {
	lib.config("require_model_card", false) == true
	not input.model.card.present == true
	msg := sprintf("%s has no model card", [input.model.subject.ref])
}

# METADATA
# title: Model card missing
# description: >-
#   The card collector found no model card, so the model's licence, base model and training
#   data are undocumented.
# custom:
#   id: model-card-missing
#   severity: low
#   remediation: Add a README.md model card with YAML front matter (license, base_model, datasets).
warn contains lib.finding("model-card-missing", msg) if {
	not lib.config("require_model_card", false) == true
	input.model.card.present == false
	msg := sprintf("%s has no model card", [input.model.subject.ref])
}
