"""The audit trail of a verdict registry: an append-only, hash-chained log of signed entries.

Every publication, revocation and expiry is one entry; each entry names the SHA-256 of the
previous entry's canonical bytes and is signed with the verdict key, so an entry altered,
deleted or moved is found offline (``verify``) with the public key alone.
"""
