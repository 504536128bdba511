"""Object-store references: ``s3://BUCKET/KEY_OR_PREFIX[?versionId=V]`` and ``gs://BUCKET/PREFIX``
(Google Cloud Storage through its S3-compatible XML API). Objects are listed and pinned by
version (``listing``), downloaded into a cache keyed by bucket, key and version (``cache``) and
laid out as a tree that ``LocalResolver`` reads. Imports the spine.
"""
