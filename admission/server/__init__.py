"""The HTTPS webhook (``modelward webhook serve``): the ASGI app, connection and request limits,
evaluation worker processes, certificate reload, metrics and the audit log. It parses, calls
``admission.review`` and serialises; it decides nothing itself.
"""
