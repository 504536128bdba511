package modelward.policies.admission.reference_test

import data.modelward.policies.admission.reference as policy

admitted(reference) := {
	"model": {"subject": {"ref": "hf://org/m", "scheme": "hf", "location": "org/m", "pinned": false}},
	"admission": {
		"reference": object.union(
			{"raw": "org/m", "reference": "hf://org/m", "origin": "spec.containers[0].args", "unresolvable": null, "trust_remote_code": false},
			reference,
		),
		"verdict": {"present": false, "trusted": false},
	},
}

ids(findings) := {f.id | some f in findings}

test_unresolvable_reference_is_denied_with_the_reason if {
	doc := admitted({"raw": "$(MODEL)", "reference": null, "unresolvable": "the value comes from an environment variable"})
	some d in policy.deny with input as doc with data.modelward.config as {}
	d.id == "model-reference-unresolvable"
	d.msg == "$(MODEL) (spec.containers[0].args) cannot be resolved to a model reference: the value comes from an environment variable"
}

test_resolved_reference_is_not_judged if {
	count(policy.deny) == 0 with input as admitted({}) with data.modelward.config as {}
	count(policy.warn) == 0 with input as admitted({}) with data.modelward.config as {}
}

test_trust_remote_code_warns_by_default if {
	doc := admitted({"trust_remote_code": true})
	count(policy.deny) == 0 with input as doc with data.modelward.config as {}
	some w in policy.warn with input as doc with data.modelward.config as {}
	w.id == "trust-remote-code"
	w.msg == "org/m (spec.containers[0].args) is loaded with remote code trusted: its repository's Python code runs in the pod"
}

test_trust_remote_code_is_denied_when_not_allowed if {
	doc := admitted({"trust_remote_code": true})
	cfg := {"allow_trust_remote_code": false}
	ids(policy.deny) == {"trust-remote-code-denied"} with input as doc with data.modelward.config as cfg
	count(policy.warn) == 0 with input as doc with data.modelward.config as cfg
}

test_nothing_applies_outside_admission if {
	count(policy.deny) == 0 with input as {"model": {}} with data.modelward.config as {"allow_trust_remote_code": false}
	count(policy.warn) == 0 with input as {"model": {}} with data.modelward.config as {}
}
