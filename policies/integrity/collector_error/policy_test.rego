package modelward.policies.integrity.collector_error_test

import data.modelward.policies.integrity.collector_error as policy

collectors(c) := {"model": {"collection": {"collectors": c}}}

test_failed_collector_is_denied if {
	some d in policy.deny with input as collectors({"hashes": {"status": "error", "reason": "a.bin: I/O error"}})
	d.msg == "the hashes collector failed: a.bin: I/O error"
}

test_ok_and_skipped_collectors_pass if {
	c := {"hashes": {"status": "ok"}, "signature": {"status": "skipped", "reason": "no signature"}}
	count(policy.deny) == 0 with input as collectors(c)
}
