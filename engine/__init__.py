"""modelward engine: references, resolvers, collectors, facts, policy and verdicts.

The spine (refs, source, facts, pipeline, decision, errors) sits here; docs/architecture.md maps
the rooms around it.
"""

__version__ = "0.1.0"
