# Admission only: the signed verdict a model reference must have before a workload may use it.
package modelward.policies.admission.vetted

import data.modelward.lib

verdict := input.admission.verdict

# A reference the webhook could resolve; unresolvable ones are judged by admission.reference.
resolved := ref if {
	ref := input.admission.reference.reference
	is_string(ref)
}

# The ids of the deny findings the verdict recorded (anything else in the list is ignored).
verdict_deny_ids := [id | some id in verdict_deny; is_string(id)]

verdict_deny := ids if {
	ids := verdict.deny
	is_array(ids)
} else := []

# METADATA
# title: Model not vetted
# description: >-
#   No signed verdict is stored for the referenced model, so nobody scanned it before it was
#   deployed. The configuration (require_verdict) makes this a deny.
# custom:
#   id: model-unvetted
#   severity: high
#   remediation: >-
#     Vet the model (modelward vet REFERENCE) so a signed verdict is stored in the registry, or
#     reference a model that was vetted.
deny contains lib.finding("model-unvetted", msg) if {
	lib.config("require_verdict", true) == true
	verdict.present == false
	msg := sprintf("%s has no verdict: it was never vetted", [resolved])
}

# METADATA
# title: Model not vetted (allowed by configuration)
# description: >-
#   No signed verdict is stored for the referenced model, and the configuration
#   (require_verdict: false) lets unvetted models in. Only policies about the reference apply.
# custom:
#   id: model-unvetted-allowed
#   severity: medium
#   remediation: Vet the model (modelward vet REFERENCE) so its facts are judged at admission.
warn contains lib.finding("model-unvetted-allowed", msg) if {
	not lib.config("require_verdict", true) == true
	verdict.present == false
	msg := sprintf("%s has no verdict: it was never vetted", [resolved])
}

# METADATA
# title: Verdict not trusted
# description: >-
#   A verdict is stored for the model but it does not verify: a forged or unknown signature, a
#   payload for another reference, or an unreadable envelope. Its facts are not used.
# custom:
#   id: verdict-untrusted
#   severity: critical
#   remediation: >-
#     Vet the model again with the vetting key, and make sure the webhook is configured with
#     that key's public half (verdict_keys).
deny contains lib.finding("verdict-untrusted", msg) if {
	verdict.present == true
	not verdict.trusted == true
	msg := sprintf("the verdict stored for %s is not trusted: %s", [
		resolved,
		lib.text(object.get(verdict, "reason", null)),
	])
}

# METADATA
# title: Verdict denies the model
# description: >-
#   The signed verdict records that the model was denied (or could not be judged) when it was
#   vetted.
# custom:
#   id: verdict-denied
#   severity: high
#   remediation: >-
#     Fix what the verdict's deny findings name and vet the model again, or add an exemption
#     for this rule with an owner and an expiry date.
deny contains lib.finding("verdict-denied", msg) if {
	verdict.trusted == true
	outcome := object.get(verdict, "outcome", null)
	outcome != "allow"
	outcome != "revoked" # admission/lifecycle says why (verdict-revoked)
	msg := sprintf("%s was vetted with outcome %s (deny: %s)", [
		resolved,
		lib.text(outcome),
		lib.listing(verdict_deny_ids),
	])
}
