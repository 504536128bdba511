"""Rewrite the stored index of the built-in policy library (run by ``make docs``)."""

from modelward.engine.policy.index import write_index

if __name__ == "__main__":
    print(write_index())
