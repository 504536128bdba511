package modelward.policies.format.mismatch_test

import data.modelward.policies.format.mismatch as policy

test_mismatch_warns if {
	files := [{"path": "w.safetensors", "format": "pickle", "extension_format": "safetensors", "format_mismatch": true}]
	some w in policy.warn with input as {"model": {"files": files}}
	w.msg == "w.safetensors: content is pickle but the name claims safetensors"
}

test_match_is_quiet if {
	files := [{"path": "w.safetensors", "format": "safetensors", "extension_format": "safetensors", "format_mismatch": false}]
	count(policy.warn) == 0 with input as {"model": {"files": files}}
}
