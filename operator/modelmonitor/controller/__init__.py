"""The operator: kopf handlers that turn ModelMonitors into scheduled, recorded runs.

Pure parts (naming, scheduling, conditions, Job manifests and their judging) are kept
apart from the handlers, which only load, decide with them, and persist.
"""
