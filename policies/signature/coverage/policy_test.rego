package modelward.policies.signature.coverage_test

import data.modelward.policies.signature.coverage as policy

model(signature) := {"model": {"subject": {"ref": "./m", "scheme": "local"}, "signature": signature}}

full := {"present": true, "verified": true, "covers_all_files": true, "unsigned_files": [], "ignored_weights": []}

test_full_coverage_is_allowed if {
	count(policy.deny) == 0 with input as model(full)
}

test_unsigned_files_are_denied_and_listed if {
	sig := object.union(full, {"covers_all_files": false, "unsigned_files": ["z.bin", "extra.pkl"]})
	some d in policy.deny with input as model(sig)
	d.id == "signature-incomplete-coverage"
	d.msg == "the signature of ./m does not cover every file (unsigned: extra.pkl, z.bin)"
}

test_ignored_weights_are_denied if {
	sig := object.union(full, {"ignored_weights": ["model-00002.safetensors"]})
	some d in policy.deny with input as model(sig)
	d.msg == "the signature of ./m ignores weight files: model-00002.safetensors"
}

test_long_listings_are_cut if {
	files := [sprintf("f%02d.bin", [i]) | some i in numbers.range(1, 12)]
	sig := object.union(full, {"covers_all_files": false, "unsigned_files": files})
	some d in policy.deny with input as model(sig)
	endswith(d.msg, "f10.bin and 2 more)")
}

test_unverified_or_absent_signature_is_not_judged_here if {
	count(policy.deny) == 0 with input as model({"present": true, "verified": false, "covers_all_files": false})
	count(policy.deny) == 0 with input as model(null)
}
