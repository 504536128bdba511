# Helpers shared by every policy.
package modelward.lib

# finding is the one way to build a deny/warn result. Severity, title and remediation come from
# the rule's METADATA, which the bundle loader publishes as data.modelward.rules (every field
# set); a rule without METADATA gets the defaults. One lookup per finding: no table of every
# rule is built per evaluation, which cost each evaluation more than its policies did.
finding(rule_id, msg) := object.union(_finding_defaults(rule_id, msg), object.filter(meta, _meta_fields)) if {
	meta := data.modelward.rules[rule_id]
	is_object(meta)
} else := _finding_defaults(rule_id, msg)

_finding_defaults(rule_id, msg) := {
	"id": rule_id,
	"msg": msg,
	"severity": "high",
	"title": rule_id,
	"remediation": "",
	"policy": "",
}

_meta_fields := ["severity", "title", "remediation", "policy"]

# Formats whose loaders can run code from the file itself.
code_executing_formats := {
	"pickle", "pytorch-zip", "pytorch-legacy", "pytorch-legacy-tar", "joblib",
	"numpy-npy", "numpy-npz", "keras", "hdf5", "tf-savedmodel", "skops",
}

severity_rank := {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

# Scan findings about one import the scanner has not reviewed (never one it knows is dangerous).
import_finding_ids := {
	"pickle.global.unknown", "pickle.call.unreviewed", "pickle.global.main_class",
	"keras.custom_object", "skops.untrusted_type",
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

# The rules below are computed once per evaluation instead of once per file or finding. Each
# comes after every rule of this package it reads: when another package reads this package
# as a whole, the embedded engine sees a rule of a package split over several files as
# undefined if it is defined further down than the rule reading it.

# The positions in input.model.scan.findings of the findings a site accepted (accepted_import).
# Acceptance is tested in the body of a rule, not inside a comprehension: the embedded engine
# mis-evaluates acceptance inside a comprehension that another package reads.
accepted_finding_indexes contains i if {
	some i, f in input.model.scan.findings
	f.id in import_finding_ids
	accepted_import(f)
}

# The files with a finding above low severity that no site acceptance covers.
_paths_with_findings_above_low contains f.file if {
	some i, f in input.model.scan.findings
	severity_rank[f.severity] > 1
	not i in accepted_finding_indexes
}

# has_findings_above_low(path): a finding above low in the file that no site acceptance covers.
has_findings_above_low(path) if path in _paths_with_findings_above_low

# Findings in one file above low severity (those a site accepted excepted).
file_findings_above_low(path) := [f |
	some i, f in input.model.scan.findings
	f.file == path
	severity_rank[f.severity] > 1
	not i in accepted_finding_indexes
]
