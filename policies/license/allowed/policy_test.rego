package modelward.policies.license.allowed_test

import data.modelward.policies.license.allowed as policy

model(card_license, bom_licenses) := {"model": {
	"subject": {"ref": "./m"},
	"card": {"present": true, "license": card_license},
	"bom": {"present": true, "valid": true, "licenses": bom_licenses},
}}

permissive := {"allowed_licenses": ["apache-2.0", "MIT"]}

test_allowed_licences_pass_case_insensitively if {
	count(policy.deny) + count(policy.warn) == 0 with input as model("apache-2.0", ["Apache-2.0", "mit"])
		with data.modelward.config as permissive
}

test_card_licence_outside_the_list_is_denied if {
	some d in policy.deny with input as model("llama3", []) with data.modelward.config as permissive
	d.id == "license-not-allowed"
	d.msg == "./m is licensed under llama3, which is not an allowed licence"
}

test_bom_licence_outside_the_list_is_denied if {
	count(policy.deny) == 1 with input as model("mit", ["MIT", "CC-BY-NC-4.0"]) with data.modelward.config as permissive
}

test_empty_list_allows_any_licence if {
	count(policy.deny) == 0 with input as model("llama3", []) with data.modelward.config as {"allowed_licenses": []}
	count(policy.deny) == 0 with input as model("llama3", []) with data.modelward.config as {}
}

test_no_licence_warns if {
	some w in policy.warn with input as model(null, []) with data.modelward.config as permissive
	w.id == "license-unknown"
	count(policy.deny) == 0 with input as model(null, []) with data.modelward.config as permissive
}

test_no_card_and_no_bom_is_quiet if {
	m := {"model": {"subject": {"ref": "./m"}, "card": null, "bom": null}}
	count(policy.deny) + count(policy.warn) == 0 with input as m with data.modelward.config as permissive
}
