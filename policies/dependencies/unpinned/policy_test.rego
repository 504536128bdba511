package modelward.policies.dependencies.unpinned_test

import data.modelward.policies.dependencies.unpinned as policy

pkg(name, specifier, pinned, hashed, url) := {
	"name": name, "normalized": name, "ecosystem": "pypi", "specifier": specifier,
	"pinned": pinned, "hashed": hashed, "url": url, "manifest": "requirements.txt", "line": 3,
	"extras": [], "markers": null,
}

model(packages, findings) := {"model": {"dependencies": {
	"manifests": [{"path": "requirements.txt", "kind": "requirements"}],
	"packages": packages, "indexes": [], "vulnerabilities": [], "confusables": [],
	"vulnerabilities_checked": false, "findings": findings,
}}}

pinned_hashed := pkg("torch", "==2.1.0", true, true, null)

test_pinned_hashed_packages_pass if {
	m := model([pinned_hashed], [])
	count(policy.warn) == 0 with input as m with data.modelward.config as {}
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
}

test_no_dependencies_section_passes if {
	count(policy.warn) == 0 with input as {"model": {"dependencies": null}}
	count(policy.warn) == 0 with input as {"model": {}}
}

test_unpinned_warns_by_default if {
	m := model([pinned_hashed, pkg("numpy", ">=1.2", false, true, null)], [])
	some w in policy.warn with input as m with data.modelward.config as {}
	w.id == "dependency-unpinned"
	w.msg == "requirements.txt: 1 package(s) not pinned to one version: numpy>=1.2"
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
}

test_unpinned_denied_when_pins_required if {
	m := model([pkg("numpy", "", false, true, null)], [])
	some d in policy.deny with input as m with data.modelward.config as {"require_pinned_dependencies": true}
	d.id == "dependency-unpinned-denied"
	ws := policy.warn with input as m with data.modelward.config as {"require_pinned_dependencies": true}
	not "dependency-unpinned" in {w.id | some w in ws}
}

test_unhashed_warns_then_denies if {
	m := model([pkg("torch", "==2.1.0", true, false, null)], [])
	some w in policy.warn with input as m with data.modelward.config as {}
	w.id == "dependency-unhashed"
	w.msg == "requirements.txt: 1 package(s) without --hash: torch"
	some d in policy.deny with input as m with data.modelward.config as {"require_hashed_dependencies": true}
	d.id == "dependency-unhashed-denied"
}

test_direct_reference_warns if {
	url := "git+https://github.com/org/repo@main#egg=repo"
	m := model([pkg("repo", "", false, true, url)], [])
	some w in policy.warn with input as m with data.modelward.config as {}
	w.id == "dependency-direct-reference"
	w.msg == sprintf("requirements.txt:3 installs repo from %s", [url])
}

test_manifest_findings_warn_except_info if {
	f := {"id": "dependencies.limit", "severity": "high", "file": "requirements.txt", "line": null, "message": "too large"}
	i := {"id": "dependencies.setup_py.dynamic", "severity": "info", "file": "setup.py", "line": 3, "message": "computed"}
	ws := policy.warn with input as model([pinned_hashed], [f, i]) with data.modelward.config as {}
	{w.msg | some w in ws; w.id == "dependency-manifest-incomplete"} == {"requirements.txt: too large"}
}
