package modelward.main_test

import data.modelward.main

# 2026-01-01T00:00:00Z
jan_1_2026 := 1767225600000000000

# A model only the unpinned-reference rule denies.
unpinned := {"model": {
	"subject": {"ref": "hf://org/m@main", "scheme": "hf", "location": "org/m", "pinned": false, "digest": "sha256:aa"},
	"scan": {"complete": true},
}}

exemption(extra) := object.union(
	{"rule": "unpinned-reference", "owner": "ml-platform", "reason": "tracking main on purpose", "expires": "2026-06-30"},
	extra,
)

ids(findings) := {f.id | some f in findings}

test_without_exemptions_the_deny_stays if {
	ids(main.deny) == {"unpinned-reference"} with input as unpinned
		with data.modelward.config as {}
	count(main.warn) == 0 with input as unpinned with data.modelward.config as {}
}

test_matching_exemption_turns_the_deny_into_a_warn if {
	cfg := {"exemptions": [exemption({"subject": "hf://org/*"})]}
	count(main.deny) == 0 with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
	some w in main.warn with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
	w.id == "unpinned-reference"
	startswith(w.msg, "exempted: hf://org/m@main is not pinned")
	w.exemption == {"owner": "ml-platform", "reason": "tracking main on purpose", "expires": "2026-06-30"}
}

test_exemption_without_subject_or_digest_covers_every_model if {
	cfg := {"exemptions": [exemption({})]}
	count(main.deny) == 0 with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_exemption_for_another_subject_does_not_apply if {
	cfg := {"exemptions": [exemption({"subject": "hf://other/*"})]}
	ids(main.deny) == {"unpinned-reference"} with input as unpinned
		with data.modelward.config as cfg with time.now_ns as jan_1_2026
	count(main.warn) == 0 with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_subject_star_stays_within_a_segment if {
	cfg := {"exemptions": [exemption({"subject": "hf://*"})]}
	ids(main.deny) == {"unpinned-reference"} with input as unpinned
		with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_exemption_for_another_rule_does_not_apply if {
	cfg := {"exemptions": [exemption({"rule": "signature-required"})]}
	ids(main.deny) == {"unpinned-reference"} with input as unpinned
		with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_digest_must_match_exactly if {
	other := {"exemptions": [exemption({"digest": "sha256:bb"})]}
	ids(main.deny) == {"unpinned-reference"} with input as unpinned
		with data.modelward.config as other with time.now_ns as jan_1_2026
	same := {"exemptions": [exemption({"digest": "sha256:aa", "subject": "hf://org/m@main"})]}
	count(main.deny) == 0 with input as unpinned with data.modelward.config as same with time.now_ns as jan_1_2026
}

test_exemption_applies_until_the_end_of_its_expiry_day if {
	cfg := {"exemptions": [exemption({"expires": "2025-12-31"})]}
	count(main.deny) == 0 with input as unpinned with data.modelward.config as cfg
		with time.now_ns as jan_1_2026 - 1
}

test_expired_exemption_no_longer_applies_and_is_reported if {
	cfg := {"exemptions": [exemption({"expires": "2025-12-31"})]}
	ids(main.deny) == {"unpinned-reference"} with input as unpinned
		with data.modelward.config as cfg with time.now_ns as jan_1_2026
	some w in main.warn with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
	w == {
		"id": "exemption-expired",
		"msg": "the exemption of rule unpinned-reference owned by ml-platform expired on 2025-12-31 and no longer applies",
		"severity": "medium",
		"title": "Exemption expired",
		"remediation": "Fix what the exemption covered, or renew it with a new expiry date after review.",
		"policy": "main",
	}
}

test_expired_exemption_is_reported_even_when_it_covers_nothing if {
	cfg := {"exemptions": [exemption({"rule": "bom-required", "expires": "2025-01-01"})]}
	ids(main.warn) == {"exemption-expired"} with input as unpinned
		with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_first_matching_exemption_is_named if {
	cfg := {"exemptions": [
		exemption({"subject": "hf://other/*", "owner": "a"}),
		exemption({"owner": "b"}),
		exemption({"owner": "c"}),
	]}
	some w in main.warn with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
	w.exemption.owner == "b"
	count(main.warn) == 1 with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_invalid_exemptions_are_denied_and_not_applied if {
	every bad in [
		object.remove(exemption({}), ["owner"]),
		object.remove(exemption({}), ["reason"]),
		object.remove(exemption({}), ["expires"]),
		object.remove(exemption({}), ["rule"]),
		exemption({"owner": "  "}),
		exemption({"expires": "2026-02-30"}),
		exemption({"expires": "30/06/2026"}),
		exemption({"expires": 20260630}),
		exemption({"subject": null}),
		"unpinned-reference",
	] {
		ids(main.deny) == {"unpinned-reference", "exemption-invalid"} with input as unpinned
			with data.modelward.config as {"exemptions": [bad]} with time.now_ns as jan_1_2026
	}
}

test_invalid_exemption_message_names_its_position_and_rule if {
	cfg := {"exemptions": [exemption({}), object.remove(exemption({}), ["owner"])]}
	some d in main.deny with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
	d.msg == "exemption 2 (rule unpinned-reference) is invalid and not applied: it needs rule, owner, reason and expires (YYYY-MM-DD)"
	d.policy == "main"
}

test_leap_day_expiry_is_valid if {
	cfg := {"exemptions": [exemption({"expires": "2028-02-29"})]}
	count(main.deny) == 0 with input as unpinned with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

# -- admission: which policies see the facts -----------------------------------------------------

# An admission input for the unpinned model above, with the verdict given. With require_model_card
# the facts alone deny it (model-card-required).
admitted(verdict) := object.union(unpinned, {"admission": {
	"reference": {"raw": "hf://org/m@main", "reference": "hf://org/m@main", "unresolvable": null, "trust_remote_code": false},
	"verdict": verdict,
}})

card_required := {"require_model_card": true}

trusted_verdict := {"present": true, "trusted": true, "reason": "", "outcome": "allow", "deny": []}

forged_verdict := {"present": true, "trusted": false, "reason": "signature does not verify", "outcome": null, "deny": []}

test_model_facts_policies_apply_on_a_trusted_verdict if {
	ids(main.deny) == {"unpinned-reference", "model-card-required"} with input as admitted(trusted_verdict)
		with data.modelward.config as card_required
}

test_model_facts_policies_ignore_an_untrusted_verdict if {
	ids(main.deny) == {"unpinned-reference", "verdict-untrusted"} with input as admitted(forged_verdict)
		with data.modelward.config as card_required
}

test_model_facts_policies_apply_without_admission if {
	ids(main.deny) == {"unpinned-reference", "model-card-required"} with input as unpinned
		with data.modelward.config as card_required
}

test_reference_policies_skip_an_unresolvable_reference if {
	doc := object.union(admitted({"present": false, "trusted": false}), {"admission": {"reference": {
		"raw": "$(MODEL)", "reference": null, "origin": "args", "unresolvable": "an environment variable",
	}}})
	ids(main.deny) == {"model-reference-unresolvable"} with input as doc with data.modelward.config as card_required
}

# -- the two parts ---------------------------------------------------------------------------------

# The model part as admission evaluates it: the facts and the verdict's trust only.
model_part_of(doc) := {"model": doc.model, "admission": {
	"verdict": {"trusted": doc.admission.verdict.trusted},
	"reference": {"unresolvable": doc.admission.reference.unresolvable},
}}

test_the_decision_is_the_union_of_the_parts if {
	doc := admitted(object.union(trusted_verdict, {"outcome": "deny", "deny": ["x"]}))
	ids(main.model_deny) == {"unpinned-reference", "model-card-required"} with input as doc
		with data.modelward.config as card_required
	ids(main.request_deny) == {"verdict-denied"} with input as doc with data.modelward.config as card_required
	ids(main.deny) == {"unpinned-reference", "model-card-required", "verdict-denied"} with input as doc
		with data.modelward.config as card_required
}

test_the_model_part_needs_only_the_facts_and_the_trust if {
	every verdict in [trusted_verdict, forged_verdict, {"present": false, "trusted": false}] {
		doc := admitted(verdict)
		full_deny := main.model_deny with input as doc with data.modelward.config as card_required
		full_warn := main.model_warn with input as doc with data.modelward.config as card_required
		part := model_part_of(doc)
		main.model_deny == full_deny with input as part with data.modelward.config as card_required
		main.model_warn == full_warn with input as part with data.modelward.config as card_required
	}
}

test_the_request_part_judges_only_the_admission_category if {
	doc := admitted(forged_verdict)
	ids(main.request_deny) == {"verdict-untrusted"} with input as doc with data.modelward.config as card_required
	count(main.request_deny) == 0 with input as unpinned with data.modelward.config as card_required
}

test_an_exemption_covers_an_admission_finding_in_the_request_part if {
	cfg := {"exemptions": [exemption({"rule": "verdict-untrusted", "subject": "hf://org/*"})]}
	doc := admitted(forged_verdict)
	ids(main.request_deny) == set() with input as doc with data.modelward.config as cfg
		with time.now_ns as jan_1_2026
	ids(main.request_warn) == {"verdict-untrusted"} with input as doc with data.modelward.config as cfg
		with time.now_ns as jan_1_2026
	count(main.model_warn) == 0 with input as doc with data.modelward.config as cfg with time.now_ns as jan_1_2026
}

test_exemption_problems_are_reported_once_in_the_model_part if {
	cfg := {"exemptions": [exemption({"expires": "2025-01-01"}), exemption({"owner": ""})]}
	doc := admitted(forged_verdict)
	ids(main.model_warn) == {"exemption-expired"} with input as doc with data.modelward.config as cfg
		with time.now_ns as jan_1_2026
	ids(main.model_deny) == {"unpinned-reference", "exemption-invalid"} with input as doc
		with data.modelward.config as cfg with time.now_ns as jan_1_2026
	count(main.request_warn) == 0 with input as doc with data.modelward.config as cfg with time.now_ns as jan_1_2026
	ids(main.request_deny) == {"verdict-untrusted"} with input as doc with data.modelward.config as cfg
		with time.now_ns as jan_1_2026
}
