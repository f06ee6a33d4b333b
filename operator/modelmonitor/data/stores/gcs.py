"""Google Cloud Storage, through gcsfs (the ``gcs`` extra).

A service account key file named by ``GOOGLE_APPLICATION_CREDENTIALS`` in the monitor's
credentials is used; without it, gcsfs's usual chain (the environment, the metadata server).
"""

from __future__ import annotations

from typing import Any

import pyarrow.dataset as ds

from modelmonitor.data.source_definition import Credentials, DataFormatDefinition, Store, open_with_fsspec


def storage_options(credentials: Credentials) -> dict[str, Any]:
    if credentials is not None and "GOOGLE_APPLICATION_CREDENTIALS" in credentials:
        return {"token": credentials["GOOGLE_APPLICATION_CREDENTIALS"]}
    return {}


def open_gcs(uri: str, data_format: DataFormatDefinition, credentials: Credentials) -> ds.Dataset:
    return open_with_fsspec(uri, data_format, storage_options(credentials))


STORE = Store(
    schemes=("gs", "gcs"),
    described="gs://",
    open=open_gcs,
    extra="gcs",
    package="gcsfs",
    storage_options=storage_options,
)
