"""Workload objects to model references: pod specs, controllers and KServe resources, container
command lines and environments, model servers and their flags. Reads objects only; imports
nothing from ``review`` or ``server``.
"""
