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

# Findings in one file above low severity (those a site accepted excepted).
file_findings_above_low(path) := [f |
	some f in input.model.scan.findings
	f.file == path
	severity_rank[f.severity] > 1
	not f in {a | some a in input.model.scan.findings; accepted_import(a)}
]

# has_findings_above_low(path): a finding above low in the file that no site acceptance covers.
# Policies test it in a rule body: the embedded engine mis-evaluates acceptance inside a
# comprehension that another package reads.
has_findings_above_low(path) if {
	some f in input.model.scan.findings
	f.file == path
	severity_rank[f.severity] > 1
	not accepted_import(f)
}

# Scan findings about one import the scanner has not reviewed (never one it knows is dangerous).
import_finding_ids := {
	"pickle.global.unknown", "pickle.call.unreviewed", "pickle.global.main_class",
	"keras.custom_object", "skops.untrusted_type",
}

# accepted_import(f) holds when f is about an import a valid allowed_imports entry matches.
accepted_import(f) if accepted_by(allowed_imports, f)

# accepted_by(entries, f): the rule itself, on given entries (what the Rego tests exercise).
accepted_by(entries, f) if {
	f.id in import_finding_ids
	is_string(f.symbol)
	some entry in entries
	valid_allowed_import(entry)
	glob.match(entry.pattern, ["."], f.symbol)
}

# The configured entries, read directly rather than through config(): the embedded engine can
# return one config() call's remembered result for another with the same fallback.
allowed_imports := entries if {
	entries := data.modelward.config.allowed_imports
	is_array(entries)
} else := []

# An entry needs a pattern (a glob on the dotted path: "*" stays within one name, "**" crosses
# dots), an owner and a reason.
valid_allowed_import(entry) if {
	is_object(entry)
	every key in ["pattern", "owner", "reason"] {
		is_string(entry[key])
		trim_space(entry[key]) != ""
	}
}
