package modelward.policies.bom.required_test

import data.modelward.policies.bom.required as policy

model(bom) := {"model": {"subject": {"ref": "./m"}, "bom": bom}}

valid_bom := {"present": true, "source": "bom.json", "valid": true, "hash_mismatches": []}

ids(findings) := {f.id | some f in findings}

test_no_bom_is_allowed_by_default if {
	count(policy.deny) == 0 with input as model(null) with data.modelward.config as {}
}

test_require_bom_denies_a_missing_bom if {
	cfg := {"require_bom": true}
	ids(policy.deny) == {"bom-required"} with input as model(null) with data.modelward.config as cfg
	ids(policy.deny) == {"bom-required"} with input as model({"present": false}) with data.modelward.config as cfg
	count(policy.deny) == 0 with input as model(valid_bom) with data.modelward.config as cfg
}

test_invalid_bom_is_denied if {
	bom := object.union(valid_bom, {"valid": false, "errors": ["components[0]: 'type' is required"]})
	some d in policy.deny with input as model(bom) with data.modelward.config as {}
	d.id == "bom-invalid"
	d.msg == "the ML-BOM bom.json of ./m is invalid: components[0]: 'type' is required"
}

test_hash_mismatch_is_denied if {
	bom := object.union(valid_bom, {"hash_mismatches": ["model.safetensors"]})
	some d in policy.deny with input as model(bom) with data.modelward.config as {}
	d.id == "bom-hash-mismatch"
	d.msg == "files of ./m differ from the hashes in the ML-BOM: model.safetensors"
}
