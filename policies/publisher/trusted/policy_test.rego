package modelward.policies.publisher.trusted_test

import data.modelward.policies.publisher.trusted as policy

hub(author, lookalike) := {"model": {
	"subject": {"ref": sprintf("hf://%s/m@abc", [author]), "scheme": "hf", "location": sprintf("%s/m", [author]), "pinned": true},
	"publisher": {"source": "huggingface", "author": author, "lookalike_of": lookalike},
}}

local := {"model": {"subject": {"ref": "./m", "scheme": "local", "location": "./m"}, "publisher": null}}

trusted := {"trusted_publishers": ["Meta-Llama", "mistralai"]}

test_any_publisher_is_allowed_by_default if {
	count(policy.deny) == 0 with input as hub("someone", null) with data.modelward.config as {}
	count(policy.deny) == 0 with input as hub("someone", null) with data.modelward.config as {"trusted_publishers": []}
}

test_trusted_publisher_is_allowed_case_insensitively if {
	count(policy.deny) == 0 with input as hub("meta-llama", null) with data.modelward.config as trusted
}

test_untrusted_publisher_is_denied if {
	some d in policy.deny with input as hub("someone", null) with data.modelward.config as trusted
	d.id == "publisher-untrusted"
	d.msg == "publisher someone of hf://someone/m@abc is not one of the trusted publishers"
}

test_hf_reference_without_publisher_facts_uses_the_org if {
	m := {"model": {"subject": {"ref": "hf://evil/m@abc", "scheme": "hf", "location": "evil/m", "pinned": true}}}
	count(policy.deny) == 1 with input as m with data.modelward.config as trusted
}

test_local_model_without_publisher_is_not_judged if {
	count(policy.deny) == 0 with input as local with data.modelward.config as trusted
}

test_lookalike_is_denied_by_default if {
	some d in policy.deny with input as hub("meta-llarna", "meta-llama") with data.modelward.config as {}
	d.id == "publisher-lookalike"
	d.msg == "publisher meta-llarna imitates meta-llama"
}

test_explicitly_trusted_lookalike_is_allowed if {
	cfg := {"trusted_publishers": ["meta-llarna"]}
	count(policy.deny) == 0 with input as hub("meta-llarna", "meta-llama") with data.modelward.config as cfg
}
