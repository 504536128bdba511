# Admission only: what the workload itself says about the model it loads.
package modelward.policies.admission.reference

import data.modelward.lib

reference := input.admission.reference

# How a reference is shown in messages: the text as written and where it was found.
where := sprintf("%s (%s)", [lib.text(object.get(reference, "raw", null)), lib.text(object.get(reference, "origin", null))])

# METADATA
# title: Model reference cannot be resolved
# description: >-
#   The workload loads a model the webhook cannot name: a value from a Secret or ConfigMap
#   (valueFrom), a runtime download, a server default model, or text that is not a valid
#   reference. What cannot be named cannot be vetted, so it is never allowed silently.
# custom:
#   id: model-reference-unresolvable
#   severity: high
#   remediation: >-
#     Write the model reference literally in the workload (hf://org/name@<commit>,
#     oci://registry/repo@sha256:<digest>), or name it in the modelward.dev/models annotation.
deny contains lib.finding("model-reference-unresolvable", msg) if {
	reason := reference.unresolvable
	is_string(reason)
	msg := sprintf("%s cannot be resolved to a model reference: %s", [where, reason])
}

# METADATA
# title: Remote code trusted
# description: >-
#   The serving runtime is started with --trust-remote-code (or TRUST_REMOTE_CODE), so Python
#   code from the model repository runs in the pod. Vetting judges weights, not that code.
# custom:
#   id: trust-remote-code
#   severity: medium
#   remediation: >-
#     Drop --trust-remote-code, or pin the model to a vetted commit and review its code.
#     Set allow_trust_remote_code to false to deny it.
warn contains lib.finding("trust-remote-code", msg) if {
	not lib.config("allow_trust_remote_code", true) == false
	reference.trust_remote_code == true
	msg := sprintf("%s is loaded with remote code trusted: its repository's Python code runs in the pod", [where])
}

# METADATA
# title: Remote code trusted (denied by configuration)
# description: >-
#   The serving runtime is started with --trust-remote-code (or TRUST_REMOTE_CODE) and the
#   configuration (allow_trust_remote_code: false) forbids it.
# custom:
#   id: trust-remote-code-denied
#   severity: high
#   remediation: Drop --trust-remote-code (and TRUST_REMOTE_CODE) from the container.
deny contains lib.finding("trust-remote-code-denied", msg) if {
	lib.config("allow_trust_remote_code", true) == false
	reference.trust_remote_code == true
	msg := sprintf("%s is loaded with remote code trusted, which the configuration forbids", [where])
}
