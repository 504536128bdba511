"""Vetting split in two: a worker that reads the hostile bytes and returns facts, and a trusted
side that validates those facts, re-evaluates the policies and builds the verdict it signs.

The worker (``worker``) never sees a signing key; ``accept`` never reads model files.
"""
