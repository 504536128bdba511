package modelward.policies.code.findings_test

import data.modelward.policies.code.findings as policy

model(findings) := {"model": {"code": {
	"remote_code": {"present": true, "auto_map": [], "files": ["modeling_x.py"]},
	"findings": findings,
}}}

notebook := {"id": "code.obfuscation.exec", "severity": "critical", "file": "demo.ipynb", "member": "cell 2", "line": 4, "message": "demo.ipynb cell 2:4 executes decoded or hidden code: exec() of decoded text"}

test_critical_finding_in_notebook_is_denied if {
	some d in policy.deny with input as model([notebook])
	d.id == "code-finding"
	d.msg == "demo.ipynb cell 2:4 executes decoded or hidden code: exec() of decoded text [code.obfuscation.exec]"
}

test_remote_code_findings_are_left_to_remote_code if {
	count(policy.deny) == 0 with input as model([object.union(notebook, {"file": "modeling_x.py"})])
}

test_cross_repo_is_left_to_cross_repo if {
	count(policy.deny) == 0 with input as model([{"id": "code.remote.cross_repo", "severity": "high", "file": "config.json", "message": "m"}])
}

test_medium_finding_warns if {
	doc := model([object.union(notebook, {"severity": "medium"})])
	count(policy.deny) == 0 with input as doc
	count(policy.warn) == 1 with input as doc
}

test_low_finding_is_silent if {
	doc := model([object.union(notebook, {"severity": "low"})])
	count(policy.deny) == 0 with input as doc
	count(policy.warn) == 0 with input as doc
}
