"""JSON Lines: one JSON object per line, its keys the columns."""

from __future__ import annotations

import pyarrow.dataset as ds
import pyarrow.json as pajson

from modelmonitor.data.source_definition import DataFormatDefinition

FORMAT = DataFormatDefinition(dataset_format=ds.JsonFileFormat, read_whole=pajson.read_json)
