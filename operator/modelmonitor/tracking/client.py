"""MLflow's REST API over plain HTTP: the calls the registry and the run log make, and their errors.

Why plain HTTP and not the ``mlflow`` package (or ``mlflow-skinny``): the operator needs a
dozen calls of MLflow's stable, versioned REST API (``/api/2.0/mlflow``), and the client
packages bring an SDK of their own (protobuf, OpenTelemetry, the Databricks SDK...) whose
pins would be the operator's too, in every image and every Job. The server stays the real
``mlflow server``; the tests run one.

Credentials come as MLflow's own client reads them, from the monitor's Secret (or the process
environment): ``MLFLOW_TRACKING_TOKEN`` (a bearer token), or ``MLFLOW_TRACKING_USERNAME`` and
``MLFLOW_TRACKING_PASSWORD`` (basic auth); ``MLFLOW_TRACKING_INSECURE_TLS=true`` skips the
server certificate's check.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelmonitor.errors import RegistryError

API = "api/2.0/mlflow"
ARTIFACTS = "api/2.0/mlflow-artifacts/artifacts"
_BUSY = frozenset({429, 502, 503, 504})  # the server is away or overloaded: the request was not done
_ATTEMPTS = 3


@dataclass(frozen=True)
class Mlflow:
    """One MLflow server, as a client with its credentials reaches it."""

    uri: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    insecure_tls: bool = False
    timeout: float = 30.0

    @classmethod
    def at(cls, uri: str, settings: Mapping[str, str] | None = None) -> Mlflow:
        """The server at ``uri`` with the credentials in ``settings`` (a monitor's Secret; None: the environment)."""
        settings = os.environ if settings is None else settings
        return cls(
            uri=uri.rstrip("/"),
            token=settings.get("MLFLOW_TRACKING_TOKEN"),
            username=settings.get("MLFLOW_TRACKING_USERNAME"),
            password=settings.get("MLFLOW_TRACKING_PASSWORD"),
            insecure_tls=settings.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() == "true",
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "modelmonitor"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.username is not None and self.password is not None:
            pair = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        return headers

    def call(
        self, method: str, endpoint: str, *, doing: str, query: Mapping[str, str] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """``METHOD /api/2.0/mlflow/ENDPOINT``, its JSON answer; RegistryError (with MLflow's error_code) if refused."""
        url = f"{self.uri}/{API}/{endpoint}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        answer = self._send(method, url, doing, data)
        try:
            return json.loads(answer or b"{}")
        except ValueError:
            raise RegistryError(self.uri, doing, f"the answer is not JSON: {answer[:200]!r}") from None

    @property
    def authenticated(self) -> bool:
        """Whether requests carry credentials (a token, or a username and password)."""
        return bool(self.token) or (self.username is not None and self.password is not None)

    def download_to(self, path: str, target: Path, *, doing: str) -> None:
        """An artifact the server proxies (``mlflow-artifacts:/PATH``), streamed into ``target``."""
        url = f"{self.uri}/{ARTIFACTS}/{urllib.parse.quote(path.lstrip('/'))}"
        with self._open("GET", url, doing, None) as response, target.open("wb") as written:
            shutil.copyfileobj(response, written, 1 << 20)

    def _send(self, method: str, url: str, doing: str, data: bytes | None) -> bytes:
        with self._open(method, url, doing, data) as response:
            try:
                return response.read()
            except OSError as error:  # a timeout or a reset while the answer was read
                raise RegistryError(self.uri, doing, f"cannot be reached ({error})") from None

    def _open(self, method: str, url: str, doing: str, data: bytes | None) -> Any:
        """The server's answer, opened; a busy server or a refused connection is tried again, twice."""
        headers = self._headers() | ({"Content-Type": "application/json"} if data is not None else {})
        context = ssl._create_unverified_context() if self.insecure_tls else None  # MLFLOW_TRACKING_INSECURE_TLS
        attempt = 1
        while True:
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                return urllib.request.urlopen(request, timeout=self.timeout, context=context)
            except urllib.error.HTTPError as error:
                if error.code not in _BUSY or attempt == _ATTEMPTS:
                    raise self._refusal(doing, error) from None
            except urllib.error.URLError as error:
                # only a refused connection is certainly not done: a timeout may have created a run already
                if not isinstance(error.reason, ConnectionRefusedError) or attempt == _ATTEMPTS:
                    raise RegistryError(self.uri, doing, f"cannot be reached ({error.reason})") from None
            except OSError as error:  # a timeout before the answer began
                raise RegistryError(self.uri, doing, f"cannot be reached ({error})") from None
            time.sleep(0.5 * 2 ** (attempt - 1))
            attempt += 1

    def _refusal(self, doing: str, error: urllib.error.HTTPError) -> RegistryError:
        body = error.read()[:2000]
        try:
            found = json.loads(body)
            code, message = found.get("error_code"), found.get("message") or body.decode(errors="replace")
        except ValueError:
            code, message = None, body.decode(errors="replace").strip() or error.reason
        if error.code in (401, 403):
            message = f"access denied (HTTP {error.code}): check MLFLOW_TRACKING_TOKEN or the username and password"
        return RegistryError(self.uri, doing, f"{message} (HTTP {error.code})", code=code)
