# The entry point both engines query: every deny and warn of every policy package, after the
# exemptions in data.modelward.config.exemptions are applied.
#
# The decision is the union of two parts, so that admission can evaluate them apart:
# - the model part: every category except admission. Its policies judge input.model; at
#   admission it is evaluated once per verdict on {"model", "admission": {"verdict":
#   {"trusted", "revoked"}, "reference": {"unresolvable"}}} and remembered;
# - the request part: the admission category, which judges the request (input.context and
#   input.admission), evaluated on every request.
# Findings of either part are exempted the same way.
package modelward.main

import data.modelward.lib

deny contains f if some f in model_deny

deny contains f if some f in request_deny

warn contains f if some f in model_warn

warn contains f if some f in request_warn

# --- the model part ---------------------------------------------------------------------------

# Findings of a rule no exemption names skip the per-finding exemption check.
model_deny contains f if {
	some f in policy_deny
	not f.id in _exempted_rules
}

model_deny contains f if {
	some f in policy_deny
	f.id in _exempted_rules
	not exempted(f)
}

model_deny contains invalid_exemption(i, e) if {
	some i, e in exemptions
	not valid(e)
}

model_warn contains f if some f in policy_warn

model_warn contains as_exempted(f) if {
	some f in policy_deny
	f.id in _exempted_rules
	exempted(f)
}

# Every expired exemption is reported, whether or not it would cover this model.
model_warn contains expired_exemption(e) if {
	some e in exemptions
	valid(e)
	not active(e)
}

policy_deny contains f if {
	some category, group in data.modelward.policies
	category != "admission"
	applies(category)
	some f in group[_].deny
}

policy_warn contains f if {
	some category, group in data.modelward.policies
	category != "admission"
	applies(category)
	some f in group[_].warn
}

# --- the request part -------------------------------------------------------------------------

# The admission category is named in full: the other categories are not evaluated for it.
request_deny contains f if {
	some f in data.modelward.policies.admission[_].deny
	not f.id in _exempted_rules
}

request_deny contains f if {
	some f in data.modelward.policies.admission[_].deny
	f.id in _exempted_rules
	not exempted(f)
}

request_warn contains f if some f in data.modelward.policies.admission[_].warn

request_warn contains as_exempted(f) if {
	some f in data.modelward.policies.admission[_].deny
	f.id in _exempted_rules
	exempted(f)
}

# --- exemptions -------------------------------------------------------------------------------

# A deny finding stays a deny unless an active exemption covers it.
exempted(f) if count(exemptions_for(f)) > 0

# An exempted deny is reported as a warn that names the (first) exemption covering it.
as_exempted(f) := object.union(f, {"msg": concat("", ["exempted: ", f.msg]), "exemption": exemption}) if {
	exemption := object.filter(exemptions_for(f)[0], ["owner", "reason", "expires"])
}

# At admission the model facts come from a signed verdict. Policies that judge those facts apply
# only when the verdict verified; without one the facts are a stub naming the reference, and the
# admission policies report the missing or untrusted verdict instead. The admission policies
# always apply (in the request part), and so do the policies about the reference unless it could
# not be resolved (then the stub has nothing to judge and admission.reference reports it).
applies(category) if {
	category == "reference"
	not is_string(input.admission.reference.unresolvable)
}

applies(_) if not input.admission

applies(_) if {
	input.admission.verdict.trusted == true
	not _revoked
}

# A revocation carries no facts to judge: admission.lifecycle reports it.
_revoked if is_object(input.admission.verdict.revoked)

exemptions := lib.config("exemptions", [])

# The valid, unexpired exemptions, in configuration order, found once per evaluation.
_applicable_exemptions := [e |
	some e in exemptions
	valid(e)
	active(e)
]

_exempted_rules := {e.rule | some e in _applicable_exemptions}

# The valid, unexpired exemptions that cover finding f, in configuration order.
exemptions_for(f) := [e |
	some e in _applicable_exemptions
	e.rule == f.id
	matches_ref(object.get(e, "subject", null))
	matches_digest(object.get(e, "digest", null))
]

# An exemption applies until the end of its expiry day (UTC).
active(e) if time.now_ns() < lib.day_end_ns(e.expires)

# subject is a glob on the reference ("*" stays within one path segment, "**" crosses "/").
matches_ref(null) := true

matches_ref(pattern) if {
	is_string(pattern)
	glob.match(pattern, ["/"], input.model.subject.ref)
}

# digest must equal the subject's manifest digest exactly.
matches_digest(null) := true

matches_digest(digest) if digest == input.model.subject.digest

# An exemption needs a rule, an owner, a reason and a real expiry date; subject and digest are
# optional, but must be text when given.
valid(e) if {
	is_object(e)
	every key in ["rule", "owner", "reason", "expires"] {
		is_string(e[key])
		trim_space(e[key]) != ""
	}
	every key in ["subject", "digest"] {
		is_string(object.get(e, key, ""))
	}
	lib.day_end_ns(e.expires)
}

expired_exemption(e) := {
	"id": "exemption-expired",
	"msg": sprintf("the exemption of rule %s owned by %s expired on %s and no longer applies", [e.rule, e.owner, e.expires]),
	"severity": "medium",
	"title": "Exemption expired",
	"remediation": "Fix what the exemption covered, or renew it with a new expiry date after review.",
	"policy": "main",
}

invalid_exemption(i, e) := {
	"id": "exemption-invalid",
	"msg": sprintf("exemption %d (rule %s) is invalid and not applied: it needs rule, owner, reason and expires (YYYY-MM-DD)", [i + 1, rule_of(e)]),
	"severity": "high",
	"title": "Invalid exemption",
	"remediation": "Give every exemption a rule id, an owner, a reason and an expiry date written as \"YYYY-MM-DD\".",
	"policy": "main",
}

rule_of(e) := lib.text(object.get(e, "rule", null)) if {
	is_object(e)
} else := "none"
