"""CycloneDX ML-BOMs: built from a model's facts (``build``, ``licenses``), read for the policies
(``read``) and validated against the schema they declare (``cyclonedx``). Imports the spine.
"""
