package modelward.policies.license.allowed

import data.modelward.lib

# METADATA
# title: Licence not allowed
# description: >-
#   Every licence the model card or the ML-BOM states must be in allowed_licenses (compared
#   case-insensitively). An empty allowed_licenses allows every licence.
# custom:
#   id: license-not-allowed
#   severity: high
#   remediation: >-
#     Check the licence terms with your legal team; if they permit this use, add the licence id
#     to allowed_licenses, or add an exemption for this model.
deny contains lib.finding("license-not-allowed", msg) if {
	allowed := {lib.norm_license(l) | some l in lib.config("allowed_licenses", [])}
	count(allowed) > 0
	some license in licenses
	not license in allowed
	msg := sprintf("%s is licensed under %s, which is not an allowed licence", [input.model.subject.ref, license])
}

# METADATA
# title: Licence unknown
# description: A model card or ML-BOM is present but states no licence.
# custom:
#   id: license-unknown
#   severity: medium
#   remediation: Find out the model's licence and record it in the card's front matter (license:).
warn contains lib.finding("license-unknown", msg) if {
	some document in ["card", "bom"]
	input.model[document].present == true
	count(licenses) == 0
	msg := sprintf("%s states no licence in its model card or ML-BOM", [input.model.subject.ref])
}

licenses := lib.card_licenses | lib.bom_licenses
