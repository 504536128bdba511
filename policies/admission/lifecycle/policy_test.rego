package modelward.policies.admission.lifecycle_test

import data.modelward.policies.admission.lifecycle as policy

ref := "hf://org/m@0123456789abcdef0123456789abcdef01234567"

trusted := {
	"present": true, "trusted": true, "reason": "", "outcome": "allow", "deny": [],
	"expires_at": "2027-01-01T00:00:00.000000Z", "expires_in_days": 60.5,
	"expiry_warning_days": 14, "revoked": null, "scope": null, "in_scope": true,
	"scope_reason": "",
}

doc(changes) := {
	"model": {"subject": {"ref": ref}},
	"admission": {
		"reference": {"raw": ref, "reference": ref, "unresolvable": null},
		"verdict": object.union(trusted, changes),
	},
}

ids(findings) := {f.id | some f in findings}

test_fresh_unscoped_verdict_has_no_findings if {
	count(policy.deny) == 0 with input as doc({})
	count(policy.warn) == 0 with input as doc({})
}

test_revoked_verdict_is_denied_with_reason_and_who if {
	revoked := {"outcome": "revoked", "revoked": {"reason": "backdoor found", "revoked_by": "secops"}}
	want := sprintf("%s was revoked by secops: backdoor found", [ref])
	some d in policy.deny with input as doc(revoked)
	d.id == "verdict-revoked"
	d.msg == want
	ids(policy.deny) == {"verdict-revoked"} with input as doc(object.union(revoked, {"in_scope": false}))
	count(policy.warn) == 0 with input as doc(object.union(revoked, {"expires_in_days": 1}))
}

test_out_of_scope_is_denied_with_the_reason if {
	out := {"in_scope": false, "scope_reason": "namespace 'team-b' is not in the approved scope"}
	want := sprintf("the verdict of %s does not cover this workload: namespace 'team-b' is not in the approved scope", [ref])
	some d in policy.deny with input as doc(out)
	d.id == "verdict-out-of-scope"
	d.msg == want
}

test_in_scope_is_allowed if {
	scoped := {"scope": {"namespaces": ["team-a"]}, "in_scope": true}
	count(policy.deny) == 0 with input as doc(scoped)
}

test_expiring_soon_warns_from_the_configured_days if {
	ids(policy.warn) == {"verdict-expiring"} with input as doc({"expires_in_days": 3.25})
	count(policy.deny) == 0 with input as doc({"expires_in_days": 3.25})
	count(policy.warn) == 0 with input as doc({"expires_in_days": 3.25, "expiry_warning_days": 0})
	ids(policy.warn) == {"verdict-expiring"} with input as doc({"expires_in_days": 40, "expiry_warning_days": 45})
}

test_untrusted_verdicts_are_left_to_the_vetted_policy if {
	untrusted := {"trusted": false, "in_scope": false, "expires_in_days": 1, "revoked": {"reason": "x", "revoked_by": "y"}}
	count(policy.deny) == 0 with input as doc(untrusted)
	count(policy.warn) == 0 with input as doc(untrusted)
}

test_nothing_applies_outside_admission if {
	count(policy.deny) == 0 with input as {"model": {"subject": {"ref": ref}}}
	count(policy.warn) == 0 with input as {"model": {"subject": {"ref": ref}}}
}

test_the_expiry_warning_leads_with_the_days_left if {
	want := sprintf("the verdict expires in 3.4 days (2027-01-01T00:00:00.000000Z): vet %s again", [ref])
	some w in policy.warn with input as doc({"expires_in_days": 3.4})
	w.msg == want
}
