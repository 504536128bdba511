package modelward.policies.bom.base_model_test

import data.modelward.policies.bom.base_model as policy

model(card_bases, bom_bases) := {"model": {
	"subject": {"ref": "./m"},
	"card": {"present": true, "base_model": card_bases},
	"bom": {"present": true, "valid": true, "base_models": bom_bases},
}}

allowed := {"allowed_base_models": ["meta-llama/*", "mistralai/Mistral-7B-v0.?"]}

test_any_base_model_is_allowed_by_default if {
	count(policy.deny) == 0 with input as model(["evil/base"], []) with data.modelward.config as {}
}

test_matching_base_models_are_allowed if {
	m := model(["meta-llama/Llama-3.1-8B"], ["mistralai/mistral-7b-v0.3"])
	count(policy.deny) == 0 with input as m with data.modelward.config as allowed
}

test_base_model_from_card_or_bom_outside_the_patterns_is_denied if {
	some d in policy.deny with input as model(["evil/base"], []) with data.modelward.config as allowed
	d.id == "base-model-not-allowed"
	d.msg == "./m is derived from evil/base, which is not an allowed base model"
	count(policy.deny) == 1 with input as model([], ["evil/base"]) with data.modelward.config as allowed
}

test_star_does_not_cross_a_slash if {
	count(policy.deny) == 1 with input as model(["meta-llama/x/y"], []) with data.modelward.config as allowed
	count(policy.deny) == 0 with input as model(["meta-llama/x/y"], [])
		with data.modelward.config as {"allowed_base_models": ["meta-llama/**"]}
}

test_card_and_bom_disagreeing_warns if {
	some w in policy.warn with input as model(["org/a"], ["org/b"]) with data.modelward.config as {}
	w.id == "base-model-inconsistent"
	w.msg == "the model card names base model(s) org/a but the ML-BOM names org/b"
	count(policy.warn) == 0 with input as model(["Org/A"], ["org/a"]) with data.modelward.config as {}
	count(policy.warn) == 0 with input as model(["org/a"], []) with data.modelward.config as {}
}
