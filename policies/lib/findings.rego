# Helpers shared by every policy.
package modelward.lib

# finding is the one way to build a deny/warn result. Severity, title and remediation come from
# the rule's METADATA, which the bundle loader publishes as data.modelward.rules.
finding(rule_id, msg) := {
	"id": rule_id,
	"msg": msg,
	"severity": object.get(_meta(rule_id), "severity", "high"),
	"title": object.get(_meta(rule_id), "title", rule_id),
	"remediation": object.get(_meta(rule_id), "remediation", ""),
	"policy": object.get(_meta(rule_id), "policy", ""),
}

_meta(rule_id) := meta if {
	meta := data.modelward.rules[rule_id]
} else := {}

# Formats whose loaders can run code from the file itself.
code_executing_formats := {
	"pickle", "pytorch-zip", "pytorch-legacy", "pytorch-legacy-tar", "joblib",
	"numpy-npy", "numpy-npz", "keras", "hdf5", "tf-savedmodel", "skops",
}

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# Findings in one file above low severity.
file_findings_above_low(path) := [f |
	some f in input.model.scan.findings
	f.file == path
	severity_rank[f.severity] > 1
]
