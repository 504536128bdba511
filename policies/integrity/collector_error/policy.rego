package modelward.policies.integrity.collector_error

import data.modelward.lib

# METADATA
# title: Collector failed
# description: Fail closed. A fact family that could not be collected is unknown, not safe.
# custom:
#   id: collector-failed
#   severity: high
#   remediation: Fix the reason the collector gives (an unreadable file, a network error) and scan again.
deny contains lib.finding("collector-failed", msg) if {
	some name, status in input.model.collection.collectors
	status.status == "error"
	msg := sprintf("the %s collector failed: %s", [name, object.get(status, "reason", "no reason given")])
}
