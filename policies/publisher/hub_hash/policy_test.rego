package modelward.policies.publisher.hub_hash_test

import data.modelward.policies.publisher.hub_hash as policy

hub(mismatches) := {"model": {
	"subject": {"ref": "hf://org/m@abc", "scheme": "hf", "location": "org/m", "pinned": true},
	"publisher": {"source": "huggingface", "author": "org", "lfs_mismatches": mismatches},
}}

test_mismatch_is_denied_with_files if {
	some d in policy.deny with input as hub(["model.safetensors", "config.json"])
	d.id == "hub-hash-mismatch"
	d.msg == "files of hf://org/m@abc differ from what the hub says it serves: config.json, model.safetensors"
}

test_no_mismatch_is_allowed if {
	count(policy.deny) == 0 with input as hub([])
}

test_missing_publisher_facts_are_not_judged if {
	count(policy.deny) == 0 with input as {"model": {"subject": {"ref": "./m", "scheme": "local"}, "publisher": null}}
	count(policy.deny) == 0 with input as {"model": {"subject": {"ref": "hf://org/m@abc", "scheme": "hf"}, "publisher": {"source": "huggingface"}}}
}
