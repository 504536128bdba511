package modelward.policies.bom.required

import data.modelward.lib

# METADATA
# title: ML-BOM required
# description: The configuration (require_bom) requires a CycloneDX ML-BOM for every model.
# custom:
#   id: bom-required
#   severity: medium
#   remediation: >-
#     Ship a CycloneDX ML-BOM with the model, or pass one on the command line, and scan again.
deny contains lib.finding("bom-required", msg) if {
	lib.config("require_bom", false) == true
	not input.model.bom.present == true
	msg := sprintf("%s has no ML-BOM", [input.model.subject.ref])
}

# METADATA
# title: Invalid ML-BOM
# description: A BOM that does not validate against its CycloneDX schema cannot be trusted.
# custom:
#   id: bom-invalid
#   severity: high
#   remediation: Fix the BOM so it validates against the CycloneDX schema of its spec version.
deny contains lib.finding("bom-invalid", msg) if {
	input.model.bom.present == true
	not input.model.bom.valid == true
	msg := sprintf("the ML-BOM %s of %s is invalid: %s", [
		lib.text(lib.get(input.model.bom, "source", null)),
		input.model.subject.ref,
		lib.listing(lib.get(input.model.bom, "errors", [])),
	])
}

# METADATA
# title: File hash differs from the ML-BOM
# description: >-
#   The BOM records a hash for a file and the file has different content: the model is not the
#   one the BOM describes.
# custom:
#   id: bom-hash-mismatch
#   severity: critical
#   remediation: >-
#     Treat the model as tampered. Obtain the files the BOM describes, or a BOM for these files
#     from their publisher.
deny contains lib.finding("bom-hash-mismatch", msg) if {
	mismatches := input.model.bom.hash_mismatches
	count(mismatches) > 0
	msg := sprintf("files of %s differ from the hashes in the ML-BOM: %s", [
		input.model.subject.ref,
		lib.listing(mismatches),
	])
}
