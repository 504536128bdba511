"""modelward engine: references, resolvers, collectors, facts, evaluators."""

__version__ = "0.1.0"
