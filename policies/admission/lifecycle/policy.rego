# Admission only: the lifecycle of a trusted verdict: revoked, outside its approved scope, or
# close to its expiry. (An expired verdict is untrusted: admission/vetted denies it.)
package modelward.policies.admission.lifecycle

import data.modelward.lib

verdict := input.admission.verdict

resolved := ref if {
	ref := input.admission.reference.reference
	is_string(ref)
}

revoked := r if {
	verdict.trusted == true
	r := verdict.revoked
	is_object(r)
}

# METADATA
# title: Verdict revoked
# description: >-
#   The newest signed statement about the model revokes it (modelward registry revoke): it may
#   no longer be used, whatever earlier verdicts said.
# custom:
#   id: verdict-revoked
#   severity: critical
#   remediation: >-
#     Use another model. If the reason for the revocation is resolved, vet the model again: the
#     newer verdict replaces the revocation.
deny contains lib.finding("verdict-revoked", msg) if {
	msg := sprintf("%s was revoked by %s: %s", [
		resolved,
		lib.text(object.get(revoked, "revoked_by", null)),
		lib.text(object.get(revoked, "reason", null)),
	])
}

# METADATA
# title: Workload outside the verdict's approved scope
# description: >-
#   The verdict approves the model only for some namespaces (by name or label selector) or
#   environments (the namespace's environment label), and this workload's namespace is not
#   one of them.
# custom:
#   id: verdict-out-of-scope
#   severity: high
#   remediation: >-
#     Deploy the model where its verdict approves it, or vet it again with a scope that covers
#     this namespace (modelward vet --scope namespace=NAME, --scope env=NAME, ...).
deny contains lib.finding("verdict-out-of-scope", msg) if {
	verdict.trusted == true
	not revoked
	verdict.in_scope == false
	msg := sprintf("the verdict of %s does not cover this workload: %s", [
		resolved,
		lib.text(object.get(verdict, "scope_reason", null)),
	])
}

# METADATA
# title: Verdict expires soon
# description: >-
#   The trusted verdict expires within the configured number of days
#   (verdict_expiry_warning_days in the webhook configuration). After it expires, new workloads
#   using the model are denied.
# custom:
#   id: verdict-expiring
#   severity: medium
#   remediation: Vet the model again before its verdict expires (or schedule re-vetting).
warn contains lib.finding("verdict-expiring", msg) if {
	verdict.trusted == true
	not revoked
	days := verdict.expires_in_days
	is_number(days)
	limit := object.get(verdict, "expiry_warning_days", 14)
	is_number(limit)
	days < limit

	# What matters first: kubectl shows warnings cut at 120 characters.
	msg := sprintf("the verdict expires in %.1f days (%s): vet %s again", [
		days,
		lib.text(object.get(verdict, "expires_at", null)),
		resolved,
	])
}
