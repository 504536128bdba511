package modelward.policies.custom.example_test

import data.modelward.policies.custom.example as policy

files := {"model": {"files": [{"path": "model.safetensors", "size": 2048}]}}

test_large_file_is_denied if {
	count(policy.deny) == 1 with input as files with data.modelward.config as {"max_file_bytes": 1024}
}

test_small_file_is_allowed if {
	count(policy.deny) == 0 with input as files with data.modelward.config as {"max_file_bytes": 4096}
}

test_no_limit_configured if {
	count(policy.deny) == 0 with input as files with data.modelward.config as {}
}
