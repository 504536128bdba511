package modelward.policies.license.consistency

import data.modelward.lib

# METADATA
# title: Card and BOM licences disagree
# description: >-
#   The model card and the ML-BOM both state licences and they differ (compared
#   case-insensitively), so it is unclear which terms apply.
# custom:
#   id: license-inconsistent
#   severity: medium
#   remediation: Find out which licence applies and correct the model card or the BOM.
warn contains lib.finding("license-inconsistent", msg) if {
	count(lib.card_licenses) > 0
	count(lib.bom_licenses) > 0
	lib.card_licenses != lib.bom_licenses
	msg := sprintf("the model card of %s states %s but its ML-BOM states %s", [
		input.model.subject.ref,
		lib.listing([l | some l in lib.card_licenses]),
		lib.listing([l | some l in lib.bom_licenses]),
	])
}
