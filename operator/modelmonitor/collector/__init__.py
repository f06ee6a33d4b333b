"""The payload-log collector: KServe's CloudEvents in, Parquet rows out, nothing acknowledged lost."""
