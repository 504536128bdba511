package modelward.policies.custom.example

import data.modelward.lib

# METADATA
# title: File larger than the configured maximum
# description: >-
#   An example custom policy. It does nothing until max_file_bytes is set in config.yaml.
# custom:
#   id: example-file-too-large
#   severity: medium
#   remediation: Split the model into smaller files, or raise max_file_bytes in config.yaml.
deny contains lib.finding("example-file-too-large", msg) if {
	limit := data.modelward.config.max_file_bytes
	some f in input.model.files
	f.size > limit
	msg := sprintf("%s is %d bytes, over the %d-byte limit", [f.path, f.size, limit])
}
