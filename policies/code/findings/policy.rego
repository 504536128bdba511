# Code the model ships that engineers run or pip runs: notebooks, scripts, setup.py, modules
# that auto_map does not load.
package modelward.policies.code.findings

import data.modelward.lib

code := input.model.code

remote_files := {path | some path in code.remote_code.files}

# Judged by code.cross_repo.
cross_repo_ids := {"code.remote.cross_repo"}

# METADATA
# title: Dangerous code in the model
# description: >-
#   A notebook, script, setup.py or other Python file of the model has a high or critical
#   finding (process execution, decoded code, credential reads, a reverse shell, ...), or could
#   not be analysed. It does not run on load, but engineers run it.
# custom:
#   id: code-finding
#   severity: high
#   remediation: >-
#     Do not run the file; read the finding at the file:line given. Remove the file from the
#     model, or add an exemption with an owner and an expiry if the code is legitimate.
deny contains lib.finding("code-finding", msg) if {
	some f in code.findings
	not f.file in remote_files
	f.severity in {"high", "critical"}
	not f.id in cross_repo_ids
	msg := sprintf("%s [%s]", [f.message, f.id])
}

# METADATA
# title: Suspicious code in the model
# description: >-
#   A medium-severity code finding: e.g. torch.load without weights_only inside a function, a
#   long encoded string, an auto_map module that is missing.
# custom:
#   id: code-finding-medium
#   severity: medium
#   remediation: Review the code at the file:line given.
warn contains lib.finding("code-finding-medium", msg) if {
	some f in code.findings
	f.severity == "medium"
	msg := sprintf("%s [%s]", [f.message, f.id])
}
