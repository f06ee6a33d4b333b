"""Where a monitor's results go besides its status and its metrics: other tools' formats."""

from __future__ import annotations

from pydantic import Field

from modelmonitor.api.base import SpecModel


class TensorBoardExport(SpecModel):
    """Each run's results as TensorBoard scalars, written as the run is recorded."""

    log_dir: str = Field(
        min_length=2,
        max_length=1024,
        # a path in the operator's own filesystem is absolute; which URI schemes can be written is the stores' to say
        pattern=r"^(/|[a-z][a-z0-9+.-]*://)\S+$",
        description="The monitor's own folder (TensorBoard shows each folder as one run): an absolute path in the "
        "operator's filesystem (a mounted volume), or an object store's URI (s3://, gs://) reached with "
        "spec.credentials.",
        examples=["s3://tensorboard/ml/credit-risk"],
    )


class ExportSpec(SpecModel):
    tensorboard: TensorBoardExport | None = None
