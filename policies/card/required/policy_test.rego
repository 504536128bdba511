package modelward.policies.card.required_test

import data.modelward.policies.card.required as policy

model(card) := {"model": {"subject": {"ref": "./m"}, "card": card}}

test_missing_card_only_warns_by_default if {
	count(policy.deny) == 0 with input as model({"present": false}) with data.modelward.config as {}
	some w in policy.warn with input as model({"present": false}) with data.modelward.config as {}
	w.id == "model-card-missing"
}

test_card_not_collected_is_quiet_by_default if {
	count(policy.deny) + count(policy.warn) == 0 with input as model(null) with data.modelward.config as {}
}

test_required_card_missing_is_denied if {
	cfg := {"require_model_card": true}
	some d in policy.deny with input as model({"present": false}) with data.modelward.config as cfg
	d.id == "model-card-required"
	d.msg == "./m has no model card"
	count(policy.deny) == 1 with input as model(null) with data.modelward.config as cfg
	count(policy.warn) == 0 with input as model({"present": false}) with data.modelward.config as cfg
}

test_present_card_is_allowed if {
	cfg := {"require_model_card": true}
	count(policy.deny) + count(policy.warn) == 0 with input as model({"present": true, "license": "mit"})
		with data.modelward.config as cfg
}
