package modelward.policies.serialization.unsafe_format_test

import data.modelward.policies.serialization.unsafe_format as policy

model(files, scan) := {"model": {"files": files, "scan": scan}}

pickle_file := {"path": "model.pt", "format": "pytorch-zip"}

test_pickle_without_scan_is_denied if {
	count(policy.deny) == 1 with input as model([pickle_file], {"complete": false, "findings": []})
}

test_pickle_with_clean_complete_scan_is_allowed if {
	count(policy.deny) == 0 with input as model([pickle_file], {"complete": true, "findings": []})
}

test_pickle_with_low_finding_is_allowed if {
	scan := {"complete": true, "findings": [{"file": "model.pt", "severity": "low"}]}
	count(policy.deny) == 0 with input as model([pickle_file], scan)
}

test_pickle_with_medium_finding_is_denied if {
	scan := {"complete": true, "findings": [{"file": "model.pt", "severity": "medium"}]}
	count(policy.deny) == 1 with input as model([pickle_file], scan)
}

test_unanalysed_pickle_is_denied if {
	scan := {"complete": true, "findings": [], "unanalysed": ["model.pt"]}
	count(policy.deny) == 1 with input as model([pickle_file], scan)
}

test_safetensors_is_allowed if {
	files := [{"path": "model.safetensors", "format": "safetensors"}]
	count(policy.deny) == 0 with input as model(files, {"complete": false, "findings": []})
}
