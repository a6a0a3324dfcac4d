"""Adaptation to a centre: fit the grading's limits on its own scored scans, evaluated by
patient-grouped cross-validation (``mibgscore adapt``)."""
