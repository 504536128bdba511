package modelward.policies.scan.findings_test

import data.modelward.policies.scan.findings as policy

scan(findings) := {"model": {"scan": {"complete": true, "findings": findings}}}

test_critical_finding_is_denied if {
	f := {"id": "pickle.global.denied", "severity": "critical", "file": "m.pkl", "message": "m.pkl: imports os.system"}
	some d in policy.deny with input as scan([f])
	d.msg == "m.pkl: imports os.system [pickle.global.denied]"
}

test_high_finding_is_denied if {
	f := {"id": "x", "severity": "high", "file": "m.pt", "member": "archive/data.pkl", "message": "eval"}
	count(policy.deny) == 1 with input as scan([f])
}

test_medium_finding_warns if {
	f := {"id": "x", "severity": "medium", "file": "m.pkl", "message": "unknown import"}
	count(policy.deny) == 0 with input as scan([f])
	count(policy.warn) == 1 with input as scan([f])
}

test_low_finding_is_quiet if {
	f := {"id": "x", "severity": "low", "file": "m.pkl", "message": "note"}
	count(policy.deny) + count(policy.warn) == 0 with input as scan([f])
}

test_code_stored_as_data_is_denied if {
	f := {"id": "safetensors.metadata.code", "severity": "medium", "file": "m.safetensors", "message": "m.safetensors: __metadata__ holds code"}
	some d in policy.deny with input as scan([f])
	d.id == "embedded-code"
	count(policy.warn) == 0 with input as scan([f])
}
