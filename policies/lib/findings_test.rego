package modelward.lib_test

import data.modelward.lib

test_finding_uses_rule_metadata if {
	f := lib.finding("x-rule", "message") with data.modelward.rules as {"x-rule": {
		"severity": "critical", "title": "X", "remediation": "fix it", "policy": "cat/x",
	}}
	f == {"id": "x-rule", "msg": "message", "severity": "critical", "title": "X", "remediation": "fix it", "policy": "cat/x"}
}

test_finding_without_metadata_defaults_to_high if {
	f := lib.finding("unknown-rule", "m") with data.modelward.rules as {}
	f.severity == "high"
}

test_finding_fills_missing_metadata_fields_and_takes_no_others if {
	f := lib.finding("y-rule", "m") with data.modelward.rules as {"y-rule": {"severity": "low", "kind": "deny"}}
	f == {"id": "y-rule", "msg": "m", "severity": "low", "title": "y-rule", "remediation": "", "policy": ""}
}

test_findings_above_low_filters_by_file_and_severity if {
	found := lib.file_findings_above_low("a.pkl") with input as {"model": {"scan": {"findings": [
		{"file": "a.pkl", "severity": "low"},
		{"file": "a.pkl", "severity": "high"},
		{"file": "b.pkl", "severity": "critical"},
	]}}}
	count(found) == 1
}

test_has_findings_above_low_ignores_low_and_other_files if {
	fs := [{"file": "a.pkl", "severity": "low"}, {"file": "b.pkl", "severity": "critical"}]
	not lib.has_findings_above_low("a.pkl") with input as {"model": {"scan": {"findings": fs}}}
	lib.has_findings_above_low("b.pkl") with input as {"model": {"scan": {"findings": fs}}}
}

test_accepted_imports_are_not_findings_above_low if {
	fs := [
		{"file": "a.pkl", "severity": "medium", "id": "pickle.global.unknown", "symbol": "acme.Net"},
		{"file": "b.pkl", "severity": "medium", "id": "pickle.global.unknown", "symbol": "other.Net"},
	]
	m := {"model": {"scan": {"findings": fs}}}
	cfg := {"allowed_imports": [{"pattern": "acme.*", "owner": "ml-platform", "reason": "our class"}]}
	lib.accepted_finding_indexes == {0} with input as m with data.modelward.config as cfg
	not lib.has_findings_above_low("a.pkl") with input as m with data.modelward.config as cfg
	lib.has_findings_above_low("b.pkl") with input as m with data.modelward.config as cfg
	lib.has_findings_above_low("a.pkl") with input as m with data.modelward.config as {}
	count(lib.file_findings_above_low("a.pkl")) == 0 with input as m with data.modelward.config as cfg
}
