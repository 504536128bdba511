"""The admission core, a pure function: one AdmissionReview in, one response out (``core``),
written as steps that yield each policy evaluation. Imports ``workloads`` and the engine; never
the server or the commands, so the CLI and the webhook decide identically.
"""
