"""The data layer: reads logged predictions and reference data, nothing else.

``source`` opens and reads a data set; ``formats`` and ``stores`` hold one module per data format
and per storage. This package imports nothing itself, so the spec can read the formats' names
from their folder without loading Arrow.
"""
