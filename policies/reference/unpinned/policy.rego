package modelward.policies.reference.unpinned

import data.modelward.lib

# METADATA
# title: Unpinned model reference
# description: >-
#   A remote reference that names a branch or tag can point at different content tomorrow.
#   Only a commit hash or content digest makes the vetted model the model that gets deployed.
# custom:
#   id: unpinned-reference
#   severity: high
#   remediation: >-
#     Reference the model by an immutable revision: hf://org/name@<40-hex commit> or
#     oci://registry/repo@sha256:<digest>.
deny contains lib.finding("unpinned-reference", msg) if {
	lib.config("require_pinned", true) == true
	lib.remote_subject
	not input.model.subject.pinned == true
	msg := sprintf("%s is not pinned to an immutable revision (revision: %s)", [
		input.model.subject.ref,
		lib.text(lib.get(input.model.subject, "revision", null)),
	])
}
