"""The types every part builds and reads: the resources' specs (with the CEL rules their CRDs carry), results
and statuses. No statistics, no I/O."""
