# auto_map references of the form org/repo--module.Class: code from another repository.
package modelward.policies.code.cross_repo

import data.modelward.lib

# METADATA
# title: Remote code from another repository
# description: >-
#   An auto_map entry loads its class from another repository (repo--module.Class). With
#   trust_remote_code that code is downloaded at load time from a repository nobody vetted with
#   this model, at whatever revision it has then.
# custom:
#   id: remote-code-cross-repo
#   severity: high
#   remediation: >-
#     Copy the modules into the model repository (and vet them with it), or use a model the
#     installed transformers supports natively.
deny contains lib.finding("remote-code-cross-repo", msg) if {
	some entry in input.model.code.remote_code.auto_map
	is_string(entry.repository)
	msg := sprintf("%s: %s loads %s from the repository %s, which this model does not contain", [
		entry.config, entry.key, entry.target, entry.repository,
	])
}
