package modelward.policies.publisher.hub_scan_test

import data.modelward.policies.publisher.hub_scan as policy

hub(scan) := {"model": {
	"subject": {"ref": "hf://org/m@abc"},
	"publisher": {"source": "huggingface", "author": "org", "hub_scan": scan},
}}

test_unsafe_is_denied_with_files if {
	scan := {"status": "unsafe", "files_with_issues": [{"path": "pytorch_model.bin", "level": "unsafe"}]}
	some d in policy.deny with input as hub(scan)
	d.id == "hub-scan-flagged"
	d.msg == "the hub's scanner flagged hf://org/m@abc as unsafe: pytorch_model.bin (unsafe)"
}

test_unavailable_warns if {
	count(policy.deny) == 0 with input as hub({"status": "unavailable"})
	some w in policy.warn with input as hub({"status": "unavailable"})
	w.id == "hub-scan-unavailable"
}

test_safe_and_unscanned_are_quiet if {
	count(policy.deny) + count(policy.warn) == 0 with input as hub({"status": "safe"})
	count(policy.deny) + count(policy.warn) == 0 with input as hub({"status": "unscanned"})
	count(policy.deny) + count(policy.warn) == 0 with input as hub(null)
}
