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
#     safetensors from a trusted environment.
deny contains lib.finding("scan-finding", msg) if {
	some f in input.model.scan.findings
	f.severity in {"high", "critical"}
	msg := sprintf("%s [%s]", [f.message, f.id])
}

# METADATA
# title: Suspicious scan finding
# description: A medium-severity scan finding, e.g. an import that is not on the allowlist.
# custom:
#   id: scan-finding-medium
#   severity: medium
#   remediation: Review the finding; if the import is legitimate, add an exemption with an owner.
warn contains lib.finding("scan-finding-medium", msg) if {
	some f in input.model.scan.findings
	f.severity == "medium"
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
