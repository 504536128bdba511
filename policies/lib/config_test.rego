package modelward.lib_config_test

import data.modelward.lib

test_config_returns_the_configured_value if {
	lib.config("require_bom", false) == true with data.modelward.config as {"require_bom": true}
}

test_config_falls_back_for_absent_and_null_keys if {
	lib.config("require_pinned", true) == true with data.modelward.config as {}
	lib.config("require_pinned", true) == true with data.modelward.config as {"require_pinned": null}
	lib.config("require_pinned", true) == false with data.modelward.config as {"require_pinned": false}
}

test_publisher_prefers_the_hub_author if {
	m := {"model": {"subject": {"scheme": "hf", "location": "org/m"}, "publisher": {"author": "Author"}}}
	lib.publisher == "Author" with input as m
}

test_publisher_falls_back_to_the_hf_org if {
	lib.publisher == "org" with input as {"model": {"subject": {"scheme": "hf", "location": "org/m"}, "publisher": null}}
	lib.publisher == "org" with input as {"model": {"subject": {"scheme": "hf", "location": "org/m"}, "publisher": {"author": null}}}
}

test_publisher_is_undefined_for_local_models if {
	not lib.publisher with input as {"model": {"subject": {"scheme": "local", "location": "./m"}}}
}

test_remote_subject if {
	lib.remote_subject with input as {"model": {"subject": {"scheme": "oci"}}}
	not lib.remote_subject with input as {"model": {"subject": {"scheme": "file"}}}
}

test_licences_are_normalised if {
	m := {"model": {"card": {"license": " Apache-2.0 "}, "bom": {"licenses": ["MIT", ""]}}}
	lib.card_licenses == {"apache-2.0"} with input as m
	lib.bom_licenses == {"mit"} with input as m
}

test_listing if {
	lib.listing([]) == "none listed"
	lib.listing(["b", "a"]) == "a, b"
	lib.listing(["k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "a"]) == "a, b, c, d, e, f, g, h, i, j and 1 more"
}

test_text if {
	lib.text(null) == "none"
	lib.text("") == "none"
	lib.text("x") == "x"
}
