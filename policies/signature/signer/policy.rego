package modelward.policies.signature.signer

import data.modelward.lib

# METADATA
# title: Signer does not match the publisher
# description: >-
#   A signature proves who signed, not that the signer speaks for the publisher. The identity and
#   issuer must be listed in expected_signers for the model's publisher, and an identity expected
#   for one publisher must not sign models published under another. Models without a known
#   publisher (local copies) are not judged.
# custom:
#   id: signature-signer-mismatch
#   severity: high
#   remediation: >-
#     Check who signed the model. If the signer is legitimate for this publisher, add its
#     identity and issuer to expected_signers; otherwise do not use the model.
deny contains lib.finding("signature-signer-mismatch", msg) if {
	verified
	some msg in mismatches
}

# METADATA
# title: Signer not configured for the publisher
# description: >-
#   The signature verifies, but expected_signers says nothing about this publisher, so it shows
#   only that someone signed the model.
# custom:
#   id: signature-signer-unpinned
#   severity: low
#   remediation: Add the publisher's signing identity and issuer to expected_signers.
warn contains lib.finding("signature-signer-unpinned", msg) if {
	verified
	publisher := lib.publisher
	not configured(publisher)
	every owner, _ in lib.config("expected_signers", {}) {
		not signer in expected_for(owner)
	}
	msg := sprintf("%s is signed by %s (issuer %s); no expected signer is configured for %s", [
		input.model.subject.ref, lib.text(signer.identity), lib.text(signer.issuer), publisher,
	])
}

verified if input.model.signature.verified == true

# The signer is not one expected for the model's publisher.
mismatches contains msg if {
	configured(lib.publisher)
	not signer in expected_for(lib.publisher)
	msg := sprintf("%s is signed by %s (issuer %s), not by a signer expected for %s", [
		input.model.subject.ref, lib.text(signer.identity), lib.text(signer.issuer), lib.publisher,
	])
}

# The signer is one expected for another publisher, and nothing is expected for this one.
mismatches contains msg if {
	publisher := lib.publisher
	not configured(publisher)
	some owner, _ in lib.config("expected_signers", {})
	signer in expected_for(owner)
	msg := sprintf("%s is signed by %s, a signer expected for %s, but is published by %s", [
		input.model.subject.ref, lib.text(signer.identity), owner, publisher,
	])
}

signer := {
	"identity": lib.get(input.model.signature, "identity", null),
	"issuer": lib.get(input.model.signature, "issuer", null),
}

# expected_signers keys are publisher names, matched case-insensitively.
configured(name) if {
	some owner, _ in lib.config("expected_signers", {})
	lower(owner) == lower(name)
}

expected_for(name) := {s |
	some owner, signers in lib.config("expected_signers", {})
	lower(owner) == lower(name)
	some entry in signers
	s := {"identity": lib.get(entry, "identity", null), "issuer": lib.get(entry, "issuer", null)}
}
