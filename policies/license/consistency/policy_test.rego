package modelward.policies.license.consistency_test

import data.modelward.policies.license.consistency as policy

model(card_license, bom_licenses) := {"model": {
	"subject": {"ref": "./m"},
	"card": {"present": true, "license": card_license},
	"bom": {"present": true, "valid": true, "licenses": bom_licenses},
}}

test_same_licence_in_card_and_bom_is_quiet if {
	count(policy.warn) == 0 with input as model("apache-2.0", ["Apache-2.0"])
}

test_different_licences_warn if {
	some w in policy.warn with input as model("apache-2.0", ["MIT"])
	w.id == "license-inconsistent"
	w.msg == "the model card of ./m states apache-2.0 but its ML-BOM states mit"
	count(policy.warn) == 1 with input as model("mit", ["MIT", "GPL-3.0-only"])
}

test_one_side_silent_is_not_a_disagreement if {
	count(policy.warn) == 0 with input as model(null, ["MIT"])
	count(policy.warn) == 0 with input as model("mit", [])
}
