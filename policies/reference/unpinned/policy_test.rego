package modelward.policies.reference.unpinned_test

import data.modelward.policies.reference.unpinned as policy

subject(ref, scheme, pinned) := {"model": {"subject": {"ref": ref, "scheme": scheme, "location": "org/m", "pinned": pinned}}}

test_remote_branch_is_denied if {
	some d in policy.deny with input as subject("hf://org/m@main", "hf", false)
		with data.modelward.config as {}
	d.id == "unpinned-reference"
	d.msg == "hf://org/m@main is not pinned to an immutable revision (revision: none)"
}

test_remote_pinned_commit_is_allowed if {
	count(policy.deny) == 0 with input as subject("hf://org/m@0123", "hf", true)
		with data.modelward.config as {}
}

test_local_and_file_references_are_not_judged if {
	count(policy.deny) == 0 with input as subject("./m", "local", false) with data.modelward.config as {}
	count(policy.deny) == 0 with input as subject("file:///m", "file", false) with data.modelward.config as {}
}

test_require_pinned_false_allows_branches if {
	count(policy.deny) == 0 with input as subject("oci://r/m:latest", "oci", false)
		with data.modelward.config as {"require_pinned": false}
}

test_require_pinned_true_denies_oci_tags if {
	count(policy.deny) == 1 with input as subject("oci://r/m:latest", "oci", false)
		with data.modelward.config as {"require_pinned": true}
}
