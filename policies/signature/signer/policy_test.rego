package modelward.policies.signature.signer_test

import data.modelward.policies.signature.signer as policy

model(author, identity, issuer) := {"model": {
	"subject": {"ref": "hf://x/m@abc", "scheme": "hf", "location": "x/m", "pinned": true},
	"signature": {"present": true, "verified": true, "identity": identity, "issuer": issuer},
	"publisher": {"source": "huggingface", "author": author},
}}

signers := {"expected_signers": {"Granite": [
	{"identity": "bot@granite.example", "issuer": "https://issuer.example"},
	{"identity": "alt@granite.example", "issuer": "https://issuer.example"},
]}}

test_expected_signer_is_allowed if {
	m := model("granite", "alt@granite.example", "https://issuer.example")
	count(policy.deny) + count(policy.warn) == 0 with input as m with data.modelward.config as signers
}

test_other_identity_is_denied if {
	m := model("granite", "mallory@evil.example", "https://issuer.example")
	some d in policy.deny with input as m with data.modelward.config as signers
	d.id == "signature-signer-mismatch"
	d.msg == "hf://x/m@abc is signed by mallory@evil.example (issuer https://issuer.example), not by a signer expected for granite"
}

test_right_identity_wrong_issuer_is_denied if {
	m := model("granite", "bot@granite.example", "https://other-issuer.example")
	count(policy.deny) == 1 with input as m with data.modelward.config as signers
}

test_key_signature_without_identity_is_denied_for_a_listed_publisher if {
	m := model("granite", null, null)
	some d in policy.deny with input as m with data.modelward.config as signers
	contains(d.msg, "signed by none (issuer none)")
}

test_borrowed_identity_under_another_publisher_is_denied if {
	m := model("someone-else", "bot@granite.example", "https://issuer.example")
	some d in policy.deny with input as m with data.modelward.config as signers
	d.msg == "hf://x/m@abc is signed by bot@granite.example, a signer expected for Granite, but is published by someone-else"
	count(policy.warn) == 0 with input as m with data.modelward.config as signers
}

test_unlisted_publisher_only_warns if {
	m := model("someone-else", "me@someone.example", "https://issuer.example")
	count(policy.deny) == 0 with input as m with data.modelward.config as signers
	some w in policy.warn with input as m with data.modelward.config as signers
	w.id == "signature-signer-unpinned"
}

test_publisher_falls_back_to_the_hf_org if {
	m := {"model": {
		"subject": {"ref": "hf://granite/m@abc", "scheme": "hf", "location": "granite/m", "pinned": true},
		"signature": {"present": true, "verified": true, "identity": "x@y", "issuer": "https://i"},
	}}
	count(policy.deny) == 1 with input as m with data.modelward.config as signers
}

test_models_without_a_known_publisher_are_not_judged if {
	m := {"model": {
		"subject": {"ref": "./granite", "scheme": "local", "location": "./granite"},
		"signature": {"present": true, "verified": true, "identity": "bot@granite.example", "issuer": "https://issuer.example"},
		"publisher": null,
	}}
	count(policy.deny) + count(policy.warn) == 0 with input as m with data.modelward.config as signers
	count(policy.deny) + count(policy.warn) == 0 with input as m with data.modelward.config as {}
}

test_unverified_or_absent_signatures_are_not_judged_here if {
	m := {"model": {"subject": {"ref": "./m", "scheme": "local"}, "signature": {"present": true, "verified": false}}}
	count(policy.deny) + count(policy.warn) == 0 with input as m with data.modelward.config as signers
	n := {"model": {"subject": {"ref": "./m", "scheme": "local"}, "signature": null}}
	count(policy.deny) + count(policy.warn) == 0 with input as n with data.modelward.config as signers
}
