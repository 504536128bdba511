"""``oci://`` and ``kit://``: models stored in OCI registries (CNCF ModelPack, KitOps ModelKits,
ORAS artifacts, container images such as KServe modelcars).

``client`` speaks the distribution protocol (authentication through oras-py), ``manifests``
reads manifests and indexes, ``layouts`` recognises the artifact kind, ``unpack`` turns layers
into files without trusting them, ``cache`` keeps verified blobs and unpacked trees, and
``resolver`` ties them together. ``referrers`` lists and pushes artifacts that refer to a
manifest (signatures).
"""
