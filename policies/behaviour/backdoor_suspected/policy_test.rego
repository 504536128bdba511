package modelward.policies.behaviour.backdoor_suspected_test

import data.modelward.policies.behaviour.backdoor_suspected as policy

facts(backdoor, probes) := {"model": {"behaviour": {
	"file": "model.onnx", "probes": probes, "labels": 10,
	"backdoor": object.union({"methods": [], "suspected_target": "7", "trigger": "patch 3x3"}, backdoor),
}}}

ok(score, complete) := facts({"status": "ok", "score": score, "complete": complete}, 200)

ids(findings) := {f.id | some f in findings}

test_high_score_is_denied if {
	ds := policy.deny with input as ok(0.91, true) with data.modelward.config as {}
	ids(ds) == {"backdoor-suspected"}
	some d in ds
	d.msg == "model.onnx: backdoor score 0.91 above the threshold 0.50 (suspected target 7, trigger patch 3x3)"
}

test_score_in_band_warns if {
	m := ok(0.42, true)
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
	ids(policy.warn) == {"backdoor-possible"} with input as m with data.modelward.config as {}
}

test_low_score_passes if {
	m := ok(0.05, true)
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
	count(policy.warn) == 0 with input as m with data.modelward.config as {}
}

test_threshold_and_band_are_configurable if {
	config := {"behaviour": {"threshold": 0.95, "warn_band": 0.5}}
	count(policy.deny) == 0 with input as ok(0.91, true) with data.modelward.config as config
	ids(policy.warn) == {"backdoor-possible"} with input as ok(0.5, true) with data.modelward.config as config
}

test_failed_analysis_is_denied_by_default if {
	m := facts({"status": "refused", "score": null, "complete": false, "reason": "non-standard op"}, 0)
	ds := policy.deny with input as m with data.modelward.config as {}
	ids(ds) == {"backdoor-analysis-failed"}
	some d in ds
	d.msg == "the requested behaviour analysis did not run (refused): non-standard op"
}

test_failed_analysis_warns_when_configured if {
	m := facts({"status": "error", "score": null, "complete": false, "reason": "time limit"}, 0)
	config := {"behaviour": {"deny_on_failure": false}}
	count(policy.deny) == 0 with input as m with data.modelward.config as config
	ids(policy.warn) == {"backdoor-analysis-not-run"} with input as m with data.modelward.config as config
}

test_ok_without_a_score_fails_closed if {
	m := facts({"status": "ok", "score": null, "complete": true}, 10)
	ids(policy.deny) == {"backdoor-analysis-failed"} with input as m with data.modelward.config as {}
}

test_without_probes_only_warns if {
	m := facts({"status": "ok", "score": 0.1, "complete": false}, 0)
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
	ws := policy.warn with input as m with data.modelward.config as {}
	ids(ws) == {"backdoor-analysis-incomplete"}
	some w in ws
	w.msg == "model.onnx: the analysis is incomplete (no probe inputs: only methods that need none ran)"
}

test_incomplete_high_score_is_still_denied if {
	m := facts({"status": "ok", "score": 0.99, "complete": false}, 0)
	ids(policy.deny) == {"backdoor-suspected"} with input as m with data.modelward.config as {}
}

test_not_requested_is_not_judged if {
	count(policy.deny) == 0 with input as {"model": {}}
	count(policy.warn) == 0 with input as {"model": {"behaviour": null}}
}
