package modelward.policies.format.mismatch

import data.modelward.lib

# METADATA
# title: Format does not match the file name
# description: >-
#   The content is not what the extension claims (a pickle named .safetensors, a zip named .txt).
#   Loaders look at content, so a misleading name hides what a file really is.
# custom:
#   id: format-mismatch
#   severity: medium
#   remediation: Rename the file to match its content, or find out why it was disguised.
warn contains lib.finding("format-mismatch", msg) if {
	some file in input.model.files
	file.format_mismatch == true
	msg := sprintf("%s: content is %s but the name claims %s", [file.path, file.format, file.extension_format])
}
