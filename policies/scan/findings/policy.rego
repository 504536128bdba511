package modelward.policies.scan.findings

import data.modelward.lib

# METADATA
# title: Dangerous scan finding
# description: Any scan finding of high or critical severity, e.g. a pickle that imports os.system.
# custom:
#   id: scan-finding
#   severity: critical
#   remediation: >-
#     Do not load this model. Obtain it from a trusted publisher, or re-export its weights to
#     safetensors from a trusted environment. A call of your own class that the scanner has not
#     reviewed can be accepted with an allowed_imports entry in config.yaml.
deny contains lib.finding("scan-finding", msg) if {
	some i, f in input.model.scan.findings
	f.severity in {"high", "critical"}
	not i in lib.accepted_finding_indexes
	msg := sprintf("%s [%s]", [f.message, f.id])
}

# METADATA
# title: Suspicious scan finding
# description: A medium-severity scan finding, e.g. an import that is not on the allowlist.
# custom:
#   id: scan-finding-medium
#   severity: medium
#   remediation: >-
#     Review the finding. An import of your own class can be accepted with an allowed_imports
#     entry (pattern, owner, reason) in config.yaml; a malformed pickle or archive should be
#     exported again from its source.
warn contains lib.finding("scan-finding-medium", msg) if {
	some i, f in input.model.scan.findings
	f.severity == "medium"
	not i in lib.accepted_finding_indexes
	not f.id in embedded_code_ids
	msg := sprintf("%s [%s]", [f.message, f.id])
}

# METADATA
# title: Code stored in the model
# description: >-
#   A payload kept as data (a pickle inside a string, code in safetensors metadata) does not run
#   on load, but has no business in a model and is the first stage of a two-stage attack.
# custom:
#   id: embedded-code
#   severity: high
#   remediation: >-
#     Do not use this model. If the stored code is legitimate (e.g. documented preprocessing),
#     add an exemption with an owner and an expiry.
deny contains lib.finding("embedded-code", msg) if {
	some f in input.model.scan.findings
	f.id in embedded_code_ids
	msg := sprintf("%s [%s]", [f.message, f.id])
}

# Scan finding ids that mean code is stored in the model as data.
embedded_code_ids := {"pickle.embedded", "pickle.string.code", "safetensors.metadata.code"}

# METADATA
# title: Import accepted by the site
# description: >-
#   A scan finding about an import the scanner has not reviewed (an unknown class, a call of it)
#   that an allowed_imports entry accepts. It no longer denies; it is reported so the acceptance
#   stays visible with its owner.
# custom:
#   id: allowed-import-applied
#   severity: info
#   remediation: Nothing to do while the owner stands by the entry; remove it when the class goes.
warn contains lib.finding("allowed-import-applied", msg) if {
	some f in input.model.scan.findings
	some entry in lib.allowed_imports
	lib.accepted_by([entry], f)
	symbol := f.symbol
	msg := sprintf("%s is accepted by allowed_imports pattern %q (owner %s: %s)", [
		symbol, entry.pattern, entry.owner, entry.reason,
	])
}

# METADATA
# title: Invalid allowed_imports entry
# description: >-
#   An allowed_imports entry without a pattern, an owner or a reason is not applied, and the
#   configuration is reported: a security gate never silently ignores a broken acceptance.
# custom:
#   id: allowed-import-invalid
#   severity: high
#   remediation: >-
#     Give the entry a pattern (a glob on the dotted import path), an owner and a reason, or
#     remove it.
deny contains lib.finding("allowed-import-invalid", msg) if {
	some i, entry in lib.allowed_imports
	not lib.valid_allowed_import(entry)
	msg := sprintf("allowed_imports entry %d needs a pattern, an owner and a reason: %v", [i, entry])
}
