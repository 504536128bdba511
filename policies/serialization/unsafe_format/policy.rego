package modelward.policies.serialization.unsafe_format

import data.modelward.lib

# METADATA
# title: Code-executing serialization format
# description: >-
#   Pickle-family files (PyTorch, joblib, numpy object arrays), Keras and TF SavedModel can run
#   code when loaded. They are allowed only when a complete scan finds nothing above low.
# custom:
#   id: unsafe-serialization
#   severity: high
#   remediation: >-
#     Convert the weights to safetensors, GGUF or ONNX, or scan with a modelward version that
#     analyses this format and fix every finding above low.
deny contains lib.finding("unsafe-serialization", msg) if {
	some file in input.model.files
	file.format in lib.code_executing_formats
	not proven_clean(file.path)
	msg := sprintf(
		"%s is %s, a format that can run code when loaded, and no complete scan proves it clean",
		[file.path, file.format],
	)
}

proven_clean(path) if {
	input.model.scan.complete == true
	not path in {p | some p in input.model.scan.unanalysed}
	not lib.has_findings_above_low(path)
}
