package modelward.policies.publisher.hub_scan

import data.modelward.lib

# METADATA
# title: Flagged by the hub's scanner
# description: >-
#   The hub's own malware/pickle scan marked files of this repository unsafe. The hub's verdict
#   is evidence; a "safe" hub verdict never overrides modelward's own findings.
# custom:
#   id: hub-scan-flagged
#   severity: critical
#   remediation: Do not use the model. Report it to the hub if it is not yet disabled.
deny contains lib.finding("hub-scan-flagged", msg) if {
	input.model.publisher.hub_scan.status == "unsafe"
	issues := [sprintf("%s (%s)", [f.path, f.level]) | some f in input.model.publisher.hub_scan.files_with_issues]
	msg := sprintf("the hub's scanner flagged %s as unsafe: %s", [
		input.model.subject.ref,
		lib.listing(issues),
	])
}

# METADATA
# title: Hub scan unavailable
# description: The hub's scan result could not be obtained, so that evidence is missing.
# custom:
#   id: hub-scan-unavailable
#   severity: low
#   remediation: Scan again when the hub is reachable; modelward's own scan still applies.
warn contains lib.finding("hub-scan-unavailable", msg) if {
	input.model.publisher.hub_scan.status == "unavailable"
	msg := sprintf("the hub's scan result for %s is unavailable", [input.model.subject.ref])
}
