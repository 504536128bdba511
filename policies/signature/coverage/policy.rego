package modelward.policies.signature.coverage

import data.modelward.lib

# METADATA
# title: Signature does not cover every file
# description: >-
#   A verified signature vouches only for the files it lists. Files it omits, and weight files
#   the signer chose to ignore, can be swapped without breaking it.
# custom:
#   id: signature-incomplete-coverage
#   severity: high
#   remediation: >-
#     Remove the files the signature does not cover, or obtain a signature over the whole model
#     (sign without ignore paths for weight files).
deny contains lib.finding("signature-incomplete-coverage", msg) if {
	input.model.signature.present == true
	input.model.signature.verified == true
	some problem in problems
	msg := sprintf("the signature of %s %s", [input.model.subject.ref, problem])
}

problems contains sprintf("does not cover every file (unsigned: %s)", [lib.listing(unsigned)]) if {
	not input.model.signature.covers_all_files == true
	unsigned := lib.get(input.model.signature, "unsigned_files", [])
}

problems contains sprintf("ignores weight files: %s", [lib.listing(ignored)]) if {
	ignored := input.model.signature.ignored_weights
	count(ignored) > 0
}
