"""Amazon S3 and the stores that speak its API (SeaweedFS, Ceph, R2...), through s3fs (the ``s3`` extra).

The endpoint comes from ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``. Keys given as the
monitor's credentials are passed on; without them, botocore's usual chain finds them (the
environment, a profile, the pod's role).
"""

from __future__ import annotations

from typing import Any

import pyarrow.dataset as ds

from modelmonitor.data.source_definition import Credentials, DataFormatDefinition, Store, environment, open_with_fsspec

_KEYS = (("AWS_ACCESS_KEY_ID", "key"), ("AWS_SECRET_ACCESS_KEY", "secret"), ("AWS_SESSION_TOKEN", "token"))


def storage_options(credentials: Credentials) -> dict[str, Any]:
    settings = environment(credentials)
    options: dict[str, Any] = {}
    if endpoint := settings.get("AWS_ENDPOINT_URL_S3") or settings.get("AWS_ENDPOINT_URL"):
        options["endpoint_url"] = endpoint
    if credentials is not None:
        options.update({option: credentials[variable] for variable, option in _KEYS if variable in credentials})
    return options


def open_s3(uri: str, data_format: DataFormatDefinition, credentials: Credentials) -> ds.Dataset:
    return open_with_fsspec(uri, data_format, storage_options(credentials))


STORE = Store(
    schemes=("s3",), described="s3://", open=open_s3, extra="s3", package="s3fs", storage_options=storage_options
)
