"""Behavioural evidence: black-box analysis of a classifier's responses (backdoor detection)."""
