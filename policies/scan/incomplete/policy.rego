package modelward.policies.scan.incomplete

import data.modelward.lib

# METADATA
# title: Incomplete scan
# description: Fail closed. A model that could not be analysed completely is not known to be safe.
# custom:
#   id: scan-incomplete
#   severity: high
#   remediation: >-
#     Read the scan findings for what could not be analysed (an unsupported format, a size limit,
#     an unreadable file) and fix the model or scan it with a version that can analyse it.
deny contains lib.finding("scan-incomplete", msg) if {
	not input.model.scan.complete == true
	unanalysed := object.get(object.get(input.model, "scan", {}), "unanalysed", [])
	msg := sprintf("the scan could not analyse everything (%d file(s) not analysed: %s)", [
		count(unanalysed),
		concat(", ", array.slice(unanalysed, 0, 5)),
	])
}
