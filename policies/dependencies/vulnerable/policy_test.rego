package modelward.policies.dependencies.vulnerable_test

import data.modelward.policies.dependencies.vulnerable as policy

vuln := {
	"package": "numpy", "version": "1.21.0", "id": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-2021-0001"],
	"summary": "Buffer overflow", "manifest": "requirements.txt", "line": 4,
}

test_vulnerable_version_is_denied if {
	m := {"model": {"dependencies": {"vulnerabilities": [vuln], "vulnerabilities_checked": true}}}
	some d in policy.deny with input as m
	d.id == "dependency-vulnerable"
	d.msg == "requirements.txt:4: numpy 1.21.0 is affected by GHSA-xxxx-yyyy-zzzz (CVE-2021-0001): Buffer overflow"
}

test_without_aliases_or_summary if {
	v := object.union(vuln, {"aliases": [], "summary": null})
	some d in policy.deny with input as {"model": {"dependencies": {"vulnerabilities": [v]}}}
	d.msg == "requirements.txt:4: numpy 1.21.0 is affected by GHSA-xxxx-yyyy-zzzz"
}

test_nothing_listed_passes if {
	count(policy.deny) == 0 with input as {"model": {"dependencies": {"vulnerabilities": [], "vulnerabilities_checked": false}}}
	count(policy.deny) == 0 with input as {"model": {"dependencies": null}}
}
