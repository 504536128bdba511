# The Python that trust_remote_code=True runs when the model is loaded (auto_map modules and the
# modules they import relatively).
package modelward.policies.code.remote_code

import data.modelward.lib

code := input.model.code

remote_files := {path | some path in code.remote_code.files}

# Findings about auto_map references themselves are judged by code.cross_repo and code.findings.
reference_ids := {"code.remote.cross_repo", "code.remote.missing", "code.remote.invalid"}

# METADATA
# title: Model runs remote code
# description: >-
#   The model's configuration maps auto classes to Python modules (auto_map), so loading it with
#   trust_remote_code=True imports and runs that code. Vetting analyses the code, but it is code
#   from the model repository running with the loader's privileges.
# custom:
#   id: remote-code
#   severity: medium
#   remediation: >-
#     Prefer a model the installed transformers supports natively. Otherwise review the modules
#     listed, pin the model to the vetted commit and load it only from there.
warn contains lib.finding("remote-code", msg) if {
	code.remote_code.present == true
	msg := sprintf("loading the model with trust_remote_code runs %s (%d auto_map entries)", [
		lib.listing(sort(code.remote_code.files)),
		count(code.remote_code.auto_map),
	])
}

# METADATA
# title: Remote code does something dangerous
# description: >-
#   A module that trust_remote_code runs has a high or critical finding: it starts processes,
#   executes decoded or dynamic code, opens network connections or downloads at import, reads
#   credentials, writes outside the cache, patches builtins or libraries, or could not be
#   analysed.
# custom:
#   id: remote-code-dangerous
#   severity: critical
#   remediation: >-
#     Do not load this model with trust_remote_code. Read the finding at the file:line given; if
#     the code is legitimate, add an exemption with an owner and an expiry.
deny contains lib.finding("remote-code-dangerous", msg) if {
	some f in code.findings
	f.file in remote_files
	f.severity in {"high", "critical"}
	not f.id in reference_ids
	msg := sprintf("%s [%s]", [f.message, f.id])
}
