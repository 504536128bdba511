"""Families of backdoor evidence; each returns an uncalibrated anomaly statistic."""
