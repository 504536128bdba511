package modelward.policies.code.cross_repo_test

import data.modelward.policies.code.cross_repo as policy

model(entries) := {"model": {"code": {"remote_code": {"present": true, "auto_map": entries, "files": []}}}}

test_cross_repo_reference_is_denied if {
	entry := {"config": "config.json", "key": "AutoModel", "target": "evil/x--modeling_x.X", "repository": "evil/x"}
	some d in policy.deny with input as model([entry])
	d.id == "remote-code-cross-repo"
	d.msg == "config.json: AutoModel loads evil/x--modeling_x.X from the repository evil/x, which this model does not contain"
}

test_local_reference_is_allowed if {
	entry := {"config": "config.json", "key": "AutoModel", "target": "modeling_x.X", "repository": null}
	count(policy.deny) == 0 with input as model([entry])
	count(policy.deny) == 0 with input as {"model": {}}
}
