package modelward.policies.signature.required_test

import data.modelward.policies.signature.required as policy

model(signature, author) := {"model": {
	"subject": {"ref": "hf://org/m@abc", "scheme": "hf", "location": "org/m", "pinned": true},
	"signature": signature,
	"publisher": {"source": "huggingface", "author": author},
}}

verified := {"present": true, "verified": true, "identity": "a@org.example", "issuer": "https://issuer"}

tampered := {"present": true, "verified": false, "error": "Hash mismatch for model.safetensors"}

ids(findings) := {f.id | some f in findings}

test_unsigned_model_is_allowed_by_default if {
	count(policy.deny) == 0 with input as model(null, "org") with data.modelward.config as {}
}

test_tampered_signature_is_denied_by_default if {
	some d in policy.deny with input as model(tampered, "org") with data.modelward.config as {}
	d.id == "signature-invalid"
	d.msg == "the signature of hf://org/m@abc does not verify: Hash mismatch for model.safetensors"
}

test_require_signature_denies_unsigned if {
	some d in policy.deny with input as model(null, "org")
		with data.modelward.config as {"require_signature": true}
	d.id == "signature-required"
	d.msg == "hf://org/m@abc must carry a verified signature, but it has no signature"
}

test_require_signature_denies_unverified_twice if {
	ids(policy.deny) == {"signature-required", "signature-invalid"} with input as model(tampered, "org")
		with data.modelward.config as {"require_signature": true}
}

test_require_signature_allows_verified if {
	count(policy.deny) == 0 with input as model(verified, "org")
		with data.modelward.config as {"require_signature": true}
}

test_per_publisher_requirement if {
	cfg := {"require_signature_for": ["ORG"]}
	ids(policy.deny) == {"signature-required"} with input as model({"present": false}, "org")
		with data.modelward.config as cfg
	count(policy.deny) == 0 with input as model({"present": false}, "other")
		with data.modelward.config as cfg
}

test_per_publisher_requirement_uses_the_hf_org_without_publisher_facts if {
	m := {"model": {"subject": {"ref": "hf://org/m@abc", "scheme": "hf", "location": "org/m", "pinned": true}}}
	ids(policy.deny) == {"signature-required"} with input as m
		with data.modelward.config as {"require_signature_for": ["org"]}
}
