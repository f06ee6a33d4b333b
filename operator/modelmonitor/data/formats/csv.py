"""Comma-separated values with a header row; Arrow infers each column's type."""

from __future__ import annotations

import pyarrow.csv as pacsv
import pyarrow.dataset as ds

from modelmonitor.data.source_definition import DataFormatDefinition

FORMAT = DataFormatDefinition(dataset_format=ds.CsvFileFormat, read_whole=pacsv.read_csv)
