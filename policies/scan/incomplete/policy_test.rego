package modelward.policies.scan.incomplete_test

import data.modelward.policies.scan.incomplete as policy

test_incomplete_scan_is_denied if {
	count(policy.deny) == 1 with input as {"model": {"scan": {"complete": false, "unanalysed": ["a.pkl"]}}}
}

test_missing_scan_is_denied if {
	count(policy.deny) == 1 with input as {"model": {}}
}

test_complete_scan_is_allowed if {
	count(policy.deny) == 0 with input as {"model": {"scan": {"complete": true}}}
}
