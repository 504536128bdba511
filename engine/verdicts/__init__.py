"""Verdicts: facts and decision of one model, signed (``signed``), the keys that sign them
(``keys``), how long they are trusted (``freshness``) and where they are stored (``registry``).
Imports the spine and policy decisions; never the scanner, resolvers or collectors.
"""
