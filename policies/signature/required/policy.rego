package modelward.policies.signature.required

import data.modelward.lib

# METADATA
# title: Signature required
# description: >-
#   The configuration requires a verified signature, for every model (require_signature) or for
#   this model's publisher (require_signature_for).
# custom:
#   id: signature-required
#   severity: high
#   remediation: >-
#     Obtain a version of the model signed with OpenSSF model signing (model.sig), or sign it
#     yourself after review, and scan again.
deny contains lib.finding("signature-required", msg) if {
	required
	not input.model.signature.verified == true
	msg := sprintf("%s must carry a verified signature, but %s", [input.model.subject.ref, state])
}

# METADATA
# title: Signature does not verify
# description: >-
#   The model carries a signature that does not verify: the files changed after signing, or the
#   signature is not trusted. Denied whatever the configuration says.
# custom:
#   id: signature-invalid
#   severity: critical
#   remediation: >-
#     Treat the model as tampered. Download it again from its publisher and check the signature;
#     do not use it until the signature verifies.
deny contains lib.finding("signature-invalid", msg) if {
	input.model.signature.present == true
	not input.model.signature.verified == true
	msg := sprintf("the signature of %s does not verify: %s", [
		input.model.subject.ref,
		lib.text(lib.get(input.model.signature, "error", null)),
	])
}

required if lib.config("require_signature", false) == true

required if lib.name_in(lib.publisher, lib.config("require_signature_for", []))

state := "it has no signature" if {
	not input.model.signature.present == true
} else := "its signature does not verify"
