package modelward.policies.admission.vetted_test

import data.modelward.policies.admission.vetted as policy

ref := "hf://org/m@0123456789abcdef0123456789abcdef01234567"

# Expected messages are computed before the with-expressions they are compared with.

admitted(verdict) := {
	"model": {"subject": {"ref": ref, "scheme": "hf", "location": "org/m", "pinned": true}},
	"admission": {
		"reference": {"raw": ref, "reference": ref, "origin": "metadata.annotations", "unresolvable": null},
		"verdict": verdict,
	},
}

absent := {"present": false, "trusted": false, "reason": "no verdict stored", "deny": []}

ids(findings) := {f.id | some f in findings}

test_missing_verdict_is_denied_by_default if {
	want := sprintf("%s has no verdict: it was never vetted", [ref])
	some d in policy.deny with input as admitted(absent) with data.modelward.config as {}
	d.id == "model-unvetted"
	d.msg == want
	count(policy.warn) == 0 with input as admitted(absent) with data.modelward.config as {}
}

test_require_verdict_false_only_warns if {
	cfg := {"require_verdict": false}
	count(policy.deny) == 0 with input as admitted(absent) with data.modelward.config as cfg
	ids(policy.warn) == {"model-unvetted-allowed"} with input as admitted(absent) with data.modelward.config as cfg
}

test_untrusted_verdict_is_denied_with_its_reason if {
	forged := {"present": true, "trusted": false, "reason": "signature does not verify against any configured key", "outcome": "allow", "deny": []}
	want := sprintf("the verdict stored for %s is not trusted: signature does not verify against any configured key", [ref])
	some d in policy.deny with input as admitted(forged) with data.modelward.config as {}
	d.id == "verdict-untrusted"
	d.msg == want
	ids(policy.deny) == {"verdict-untrusted"} with input as admitted(forged) with data.modelward.config as {"require_verdict": false}
}

test_trusted_allow_verdict_is_allowed if {
	ok := {"present": true, "trusted": true, "reason": "", "outcome": "allow", "deny": []}
	count(policy.deny) == 0 with input as admitted(ok) with data.modelward.config as {}
	count(policy.warn) == 0 with input as admitted(ok) with data.modelward.config as {}
}

test_trusted_deny_verdict_lists_its_deny_ids if {
	denied := {"present": true, "trusted": true, "reason": "", "outcome": "deny", "deny": ["unsafe-serialization", "scan-finding"]}
	want := sprintf("%s was vetted with outcome deny (deny: scan-finding, unsafe-serialization)", [ref])
	some d in policy.deny with input as admitted(denied) with data.modelward.config as {}
	d.id == "verdict-denied"
	d.msg == want
}

test_trusted_error_verdict_is_denied if {
	failed := {"present": true, "trusted": true, "reason": "", "outcome": "error", "deny": null}
	want := sprintf("%s was vetted with outcome error (deny: none listed)", [ref])
	some d in policy.deny with input as admitted(failed) with data.modelward.config as {}
	d.msg == want
}

test_nothing_applies_outside_admission if {
	count(policy.deny) == 0 with input as {"model": {"subject": {"ref": ref}}} with data.modelward.config as {}
	count(policy.warn) == 0 with input as {"model": {"subject": {"ref": ref}}} with data.modelward.config as {"require_verdict": false}
}

test_unresolvable_references_are_left_to_the_reference_policy if {
	doc := object.union(admitted(absent), {"admission": {"reference": {"reference": null, "unresolvable": "valueFrom"}}})
	count(policy.deny) == 0 with input as doc with data.modelward.config as {}
}

test_revocations_are_left_to_the_lifecycle_policy if {
	revoked := {"present": true, "trusted": true, "reason": "", "outcome": "revoked", "deny": ["verdict-revoked"]}
	count(policy.deny) == 0 with input as admitted(revoked) with data.modelward.config as {}
}
