# The entry point both engines query: every deny and warn of every policy package, after the
# exemptions in data.modelward.config.exemptions are applied.
package modelward.main

import data.modelward.lib

# A deny finding stays a deny unless an active exemption covers it.
deny contains f if {
	some f in policy_deny
	count(exemptions_for(f)) == 0
}

deny contains invalid_exemption(i, e) if {
	some i, e in exemptions
	not valid(e)
}

warn contains f if some f in policy_warn

# An exempted deny is reported as a warn that names the (first) exemption covering it.
warn contains object.union(f, {"msg": concat("", ["exempted: ", f.msg]), "exemption": exemption}) if {
	some f in policy_deny
	covering := exemptions_for(f)
	count(covering) > 0
	exemption := object.filter(covering[0], ["owner", "reason", "expires"])
}

# Every expired exemption is reported, whether or not it would cover this model.
warn contains expired_exemption(e) if {
	some e in exemptions
	valid(e)
	not active(e)
}

policy_deny contains f if {
	some category, group in data.modelward.policies
	applies(category)
	some f in group[_].deny
}

policy_warn contains f if {
	some category, group in data.modelward.policies
	applies(category)
	some f in group[_].warn
}

# At admission the model facts come from a signed verdict. Policies that judge those facts apply
# only when the verdict verified; without one the facts are a stub naming the reference, and the
# admission policies report the missing or untrusted verdict instead. The admission policies
# always apply, and so do the policies about the reference unless it could not be resolved
# (then the stub has nothing to judge and admission.reference reports it).
applies(category) if category == "admission"

applies(category) if {
	category == "reference"
	not is_string(input.admission.reference.unresolvable)
}

applies(_) if not input.admission

applies(_) if input.admission.verdict.trusted == true

exemptions := lib.config("exemptions", [])

# The valid, unexpired exemptions that cover finding f, in configuration order.
exemptions_for(f) := [e |
	some e in exemptions
	valid(e)
	active(e)
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
