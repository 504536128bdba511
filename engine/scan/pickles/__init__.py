"""The pickle analyser: every stream run through a symbolic pickle VM (``vm``, ``machine``), one
handler per opcode (``ops_values``, ``ops_objects``), calls judged (``calls``) against the
reviewed allowlist and the denylist (``rules``). Nothing is ever unpickled.
"""
