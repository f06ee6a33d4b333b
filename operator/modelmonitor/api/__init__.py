"""The types that results and statuses are made of, built and read alike by every part: no statistics, no I/O."""
