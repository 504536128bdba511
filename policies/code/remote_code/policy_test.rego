package modelward.policies.code.remote_code_test

import data.modelward.policies.code.remote_code as policy

model(files, findings) := {"model": {"code": {
	"remote_code": {"present": count(files) > 0, "auto_map": [{"key": "AutoModel"} | some _ in files], "files": files},
	"files": [],
	"findings": findings,
	"complete": true,
}}}

process := {"id": "code.process", "severity": "high", "file": "modeling_x.py", "line": 3, "message": "modeling_x.py:3 runs a process when imported: subprocess.run()"}

test_remote_code_warns if {
	doc := model(["modeling_x.py"], [])
	count(policy.deny) == 0 with input as doc
	some w in policy.warn with input as doc
	w.id == "remote-code"
	w.msg == "loading the model with trust_remote_code runs modeling_x.py (1 auto_map entries)"
}

test_high_finding_in_remote_code_is_denied_with_file_and_line if {
	some d in policy.deny with input as model(["modeling_x.py"], [process])
	d.id == "remote-code-dangerous"
	d.msg == "modeling_x.py:3 runs a process when imported: subprocess.run() [code.process]"
}

test_medium_finding_is_not_denied if {
	medium := object.union(process, {"severity": "medium"})
	count(policy.deny) == 0 with input as model(["modeling_x.py"], [medium])
}

test_finding_outside_remote_code_is_left_to_code_findings if {
	other := object.union(process, {"file": "train.py"})
	count(policy.deny) == 0 with input as model(["modeling_x.py"], [other])
}

test_no_remote_code_no_finding if {
	count(policy.warn) == 0 with input as model([], [])
	count(policy.warn) == 0 with input as {"model": {"code": null}}
	count(policy.deny) == 0 with input as {"model": {}}
}
