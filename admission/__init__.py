"""Admission: the Kubernetes webhook and the admission commands. ``workloads`` finds model
references, ``review`` decides, ``server`` serves; the root holds configuration and commands.
"""
