package modelward.policies.dependencies.index_url_test

import data.modelward.policies.dependencies.index_url as policy

model(indexes) := {"model": {"dependencies": {"indexes": indexes}}}

index(url, kind) := {"url": url, "kind": kind, "manifest": "requirements.txt", "line": 1}

test_extra_index_url_is_denied if {
	m := model([index("https://evil.example/simple", "extra-index-url")])
	some d in policy.deny with input as m with data.modelward.config as {}
	d.id == "dependency-extra-index-url"
	d.msg == "requirements.txt:1: adds the package index https://evil.example/simple beside the main one"
}

test_allowed_extra_index_passes if {
	m := model([index("https://download.pytorch.org/whl/cu118", "extra-index-url")])
	cfg := {"allowed_package_indexes": ["https://Download.PyTorch.org/whl/"]}
	count(policy.deny) == 0 with input as m with data.modelward.config as cfg
	count(policy.warn) == 0 with input as m with data.modelward.config as cfg
}

test_prefix_must_end_at_a_path_segment if {
	m := model([index("https://download.pytorch.org/whl-evil", "extra-index-url")])
	cfg := {"allowed_package_indexes": ["https://download.pytorch.org/whl"]}
	count(policy.deny) == 1 with input as m with data.modelward.config as cfg
	lookalike_host := model([index("https://pypi.org.evil.example/simple", "extra-index-url")])
	count(policy.deny) == 1 with input as lookalike_host with data.modelward.config as {}
}

test_pypi_is_accepted if {
	m := model([index("https://pypi.org/simple/", "index-url"), index("https://pypi.org/simple", "extra-index-url")])
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
	count(policy.warn) == 0 with input as m with data.modelward.config as {}
}

test_other_index_url_and_find_links_warn if {
	m := model([index("https://mirror.example/simple", "index-url"), index("./wheels", "find-links")])
	ws := policy.warn with input as m with data.modelward.config as {}
	{w.msg | some w in ws} == {
		"requirements.txt:1: installs packages from https://mirror.example/simple (index-url)",
		"requirements.txt:1: installs packages from ./wheels (find-links)",
	}
	count(policy.deny) == 0 with input as m with data.modelward.config as {}
}

test_trusted_host_warns if {
	some w in policy.warn with input as model([index("pypi.org", "trusted-host")]) with data.modelward.config as {}
	w.msg == "requirements.txt:1: turns off TLS verification for pypi.org (trusted-host)"
}

test_no_indexes_pass if {
	count(policy.deny) == 0 with input as {"model": {"dependencies": null}} with data.modelward.config as {}
}
