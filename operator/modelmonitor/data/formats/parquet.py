"""Apache Parquet: columnar, so a check reads only the columns it needs, a row group at a time."""

from __future__ import annotations

import pyarrow.dataset as ds
import pyarrow.parquet as pq

from modelmonitor.data.source_definition import DataFormatDefinition

FORMAT = DataFormatDefinition(
    dataset_format=ds.ParquetFileFormat,
    read_whole=pq.read_table,
    # pre-buffering would read whole row groups of every requested column ahead of the scan
    scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False),
)
