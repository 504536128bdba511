# Admission only: a workload that trusts remote code, judged by what the verdict says that code
# does. Applies when the runtime is started with --trust-remote-code (or TRUST_REMOTE_CODE) and
# the model's verdict is trusted; admission.reference reports the flag itself.
package modelward.policies.admission.remote_code

import data.modelward.lib

reference := input.admission.reference

code := input.model.code

where := sprintf("%s (%s)", [lib.text(object.get(reference, "raw", null)), lib.text(object.get(reference, "origin", null))])

# Remote code is judged only with trusted facts and only when the workload trusts it.
judged if {
	reference.trust_remote_code == true
	input.admission.verdict.trusted == true
	code.remote_code.present == true
}

remote_files := {path | some path in code.remote_code.files}

# High and critical findings in the modules trust_remote_code runs, and references to code in
# other repositories. Medium ones (e.g. torch.load without weights_only inside a function, as in
# much ordinary modeling code) stay warnings of the verdict.
problems contains sprintf("%s [%s]", [f.message, f.id]) if {
	some f in code.findings
	f.file in remote_files
	lib.severity_rank[f.severity] >= 3
}

problems contains sprintf("%s loads code from %s", [entry.key, entry.repository]) if {
	some entry in code.remote_code.auto_map
	is_string(entry.repository)
}

# METADATA
# title: Remote code with findings trusted
# description: >-
#   The workload runs with --trust-remote-code (or TRUST_REMOTE_CODE=true) and the model's
#   verdict shows that its remote code has high findings (or comes from another repository). That
#   code runs in the pod as soon as the model loads.
# custom:
#   id: trust-remote-code-findings
#   severity: high
#   remediation: >-
#     Drop --trust-remote-code, or fix what the findings name in the model's code and vet it
#     again; an exemption with an owner and an expiry covers code reviewed by hand.
deny contains lib.finding("trust-remote-code-findings", msg) if {
	judged
	count(problems) > 0
	msg := sprintf("%s is loaded with remote code trusted, and that code has findings: %s", [where, concat("; ", sort(problems))])
}

# METADATA
# title: Remote code trusted and present
# description: >-
#   The workload runs with --trust-remote-code and the model's verdict shows remote code (an
#   auto_map) without findings. The code runs in the pod; it was analysed when the model was
#   vetted.
# custom:
#   id: trust-remote-code-present
#   severity: medium
#   remediation: >-
#     Prefer a model the serving runtime supports natively, or keep the model pinned to the vetted
#     commit so the code that runs is the code that was analysed.
warn contains lib.finding("trust-remote-code-present", msg) if {
	judged
	count(problems) == 0
	msg := sprintf("%s is loaded with remote code trusted and runs %s", [where, lib.listing(sort(code.remote_code.files))])
}
