package modelward.policies.admission.remote_code_test

import data.modelward.policies.admission.remote_code as policy

admitted(trust, trusted, code) := {
	"model": {"subject": {"ref": "hf://org/m@abc", "pinned": true}, "code": code},
	"admission": {
		"reference": {"raw": "org/m", "reference": "hf://org/m@abc", "origin": "spec.containers[0].args", "unresolvable": null, "trust_remote_code": trust},
		"verdict": {"present": true, "trusted": trusted},
	},
}

remote(findings, entries) := {
	"remote_code": {"present": true, "auto_map": entries, "files": ["modeling_x.py"]},
	"findings": findings,
}

local_entry := {"config": "config.json", "key": "AutoModel", "target": "modeling_x.X", "repository": null}

process := {"id": "code.process", "severity": "high", "file": "modeling_x.py", "line": 3, "message": "modeling_x.py:3 runs a process when imported: subprocess.run()"}

test_remote_code_with_findings_is_denied if {
	doc := admitted(true, true, remote([process], [local_entry]))
	some d in policy.deny with input as doc
	d.id == "trust-remote-code-findings"
	d.msg == "org/m (spec.containers[0].args) is loaded with remote code trusted, and that code has findings: modeling_x.py:3 runs a process when imported: subprocess.run() [code.process]"
	count(policy.warn) == 0 with input as doc
}

test_cross_repo_code_is_denied if {
	entry := object.union(local_entry, {"repository": "evil/x"})
	some d in policy.deny with input as admitted(true, true, remote([], [entry]))
	d.id == "trust-remote-code-findings"
}

test_clean_remote_code_warns if {
	doc := admitted(true, true, remote([object.union(process, {"severity": "low"})], [local_entry]))
	count(policy.deny) == 0 with input as doc
}

test_medium_findings_in_remote_code_only_warn if {
	doc := admitted(true, true, remote([object.union(process, {"severity": "medium"})], [local_entry]))
	count(policy.deny) == 0 with input as doc
	some w in policy.warn with input as doc
	w.id == "trust-remote-code-present"
	w.msg == "org/m (spec.containers[0].args) is loaded with remote code trusted and runs modeling_x.py"
}

test_without_the_flag_nothing_applies if {
	doc := admitted(false, true, remote([process], [local_entry]))
	count(policy.deny) == 0 with input as doc
	count(policy.warn) == 0 with input as doc
}

test_untrusted_verdict_is_left_to_admission_vetted if {
	doc := admitted(true, false, remote([process], [local_entry]))
	count(policy.deny) == 0 with input as doc
	count(policy.warn) == 0 with input as doc
}

test_no_remote_code_nothing_applies if {
	doc := admitted(true, true, {"remote_code": {"present": false, "auto_map": [], "files": []}, "findings": []})
	count(policy.deny) == 0 with input as doc
	count(policy.warn) == 0 with input as doc
	count(policy.warn) == 0 with input as admitted(true, true, null)
}
