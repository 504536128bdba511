package modelward.policies.dependencies.confusable_test

import data.modelward.policies.dependencies.confusable as policy

model(confusables) := {"model": {"dependencies": {"confusables": confusables}}}

squat := {"name": "transfomers", "resembles": "transformers", "manifest": "requirements.txt", "line": 2}

test_confusable_is_denied if {
	some d in policy.deny with input as model([squat]) with data.modelward.config as {}
	d.id == "dependency-confusable"
	d.msg == "requirements.txt:2: package transfomers imitates transformers"
}

test_no_confusables_pass if {
	count(policy.deny) == 0 with input as model([]) with data.modelward.config as {}
	count(policy.deny) == 0 with input as {"model": {"dependencies": null}} with data.modelward.config as {}
}

test_allowlisted_name_passes_in_any_spelling if {
	cfg := {"dependency_allowlist": ["Transfomers"]}
	count(policy.deny) == 0 with input as model([squat]) with data.modelward.config as cfg
	other := object.union(squat, {"name": "my_pkg.name", "line": null})
	count(policy.deny) == 0 with input as model([other]) with data.modelward.config as {"dependency_allowlist": ["My-Pkg-Name"]}
}

test_location_without_line if {
	some d in policy.deny with input as model([object.union(squat, {"line": null})]) with data.modelward.config as {}
	d.msg == "requirements.txt: package transfomers imitates transformers"
}
