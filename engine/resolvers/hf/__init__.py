"""Hugging Face Hub references: resolve a revision, reuse the local cache or download, record
the Hub's own scan, and check every file against the Hub's digests; every wait on the Hub is
bounded (``network``). Imports the spine.
"""
