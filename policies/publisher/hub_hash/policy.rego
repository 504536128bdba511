package modelward.policies.publisher.hub_hash

import data.modelward.lib

# METADATA
# title: Files differ from what the hub serves
# description: >-
#   The hub advertises a sha256 for every LFS file (and a git blob id for small files) of the
#   commit. A downloaded or cached file with other content, or a file the hub does not list, is
#   not what the publisher put on the hub: a tampered cache, mirror or proxy.
# custom:
#   id: hub-hash-mismatch
#   severity: critical
#   remediation: >-
#     Treat the model as tampered. Delete it from the Hugging Face cache (hf cache delete) and
#     download it again from the hub; check any mirror or proxy in between.
deny contains lib.finding("hub-hash-mismatch", msg) if {
	mismatches := input.model.publisher.lfs_mismatches
	count(mismatches) > 0
	msg := sprintf("files of %s differ from what the hub says it serves: %s", [
		input.model.subject.ref,
		lib.listing(mismatches),
	])
}
