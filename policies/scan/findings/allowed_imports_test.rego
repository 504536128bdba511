# The allowed_imports rule on given entries. How configuration reaches it (config.yaml, --data)
# is tested end to end in tests/policies/test_config_behaviour.py.
package modelward.policies.scan.findings_allowed_imports_test

import data.modelward.lib

unknown := {
	"id": "pickle.call.unreviewed", "severity": "high", "file": "m.pkl",
	"symbol": "acme.models.Net", "message": "m.pkl: REDUCE calls acme.models.Net",
}

entry := {"pattern": "acme.models.*", "owner": "ml-platform@acme.example", "reason": "our own classes"}

test_a_matching_entry_accepts_an_unreviewed_import if lib.accepted_by([entry], unknown)

test_no_entry_accepts_nothing if not lib.accepted_by([], unknown)

test_star_stays_within_one_name if {
	deeper := object.union(unknown, {"symbol": "acme.models.sub.Net"})
	not lib.accepted_by([entry], deeper)
	lib.accepted_by([object.union(entry, {"pattern": "acme.**"})], deeper)
}

test_a_denied_import_is_never_accepted if {
	denied := object.union(unknown, {"id": "pickle.global.denied", "symbol": "os.system"})
	not lib.accepted_by([object.union(entry, {"pattern": "**"})], denied)
}

test_a_finding_without_a_symbol_is_never_accepted if {
	not lib.accepted_by([object.union(entry, {"pattern": "**"})], object.remove(unknown, ["symbol"]))
}

test_an_entry_without_owner_or_reason_is_not_applied if {
	not lib.accepted_by([object.remove(entry, ["owner"])], unknown)
	not lib.accepted_by([object.union(entry, {"reason": " "})], unknown)
	not lib.valid_allowed_import(object.remove(entry, ["owner"]))
}

test_every_kind_of_unreviewed_import_finding_can_be_accepted if {
	every id in lib.import_finding_ids {
		lib.accepted_by([entry], object.union(unknown, {"id": id}))
	}
}
