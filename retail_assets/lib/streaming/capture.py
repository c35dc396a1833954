"""Event Hubs Capture files: Avro files that Capture writes to ADLS/Blob, one per partition and time window.

Capture names them ``<namespace>/<hub>/<partition>/<YYYY>/<MM>/<DD>/<hh>/<mm>/<ss>.avro`` (the
default archive name format) and writes each once. Records follow Capture's schema
(``CAPTURE_SCHEMA``): ``SequenceNumber``, ``Offset``, ``EnqueuedTimeUtc``, ``SystemProperties``,
``Properties``, ``Body`` (bytes: the event's JSON). Read with ``fastavro`` (deflate and null codecs,
what Capture uses).
"""

from __future__ import annotations

import datetime as dt
import io
import os
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from retail_assets.lib.streaming.route import Message, safe_name

CAPTURE_SCHEMA = {
    "type": "record",
    "name": "EventData",
    "namespace": "Microsoft.ServiceBus.Messaging",
    "fields": [
        {"name": "SequenceNumber", "type": "long"},
        {"name": "Offset", "type": "string"},
        {"name": "EnqueuedTimeUtc", "type": "string"},
        {"name": "SystemProperties", "type": {"type": "map", "values": ["long", "double", "string", "bytes"]}},
        {"name": "Properties", "type": {"type": "map", "values": ["long", "double", "string", "bytes", "null"]}},
        {"name": "Body", "type": ["null", "bytes"]},
    ],
}
ENQUEUED_FORMAT = "%m/%d/%Y %I:%M:%S %p"


def enqueued_time(text: str) -> dt.datetime:
    """Capture's ``EnqueuedTimeUtc`` ("9/19/2024 1:10:50 PM") as an aware UTC datetime."""
    try:
        return dt.datetime.strptime(text.strip(), ENQUEUED_FORMAT).replace(tzinfo=dt.UTC)
    except ValueError:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00")).astimezone(dt.UTC)


def read_capture(data: bytes) -> list[Message]:
    """The events of one Capture file, in file order."""
    import fastavro

    messages = []
    for index, record in enumerate(fastavro.reader(io.BytesIO(data))):
        body = record.get("Body") or b""
        messages.append(
            Message(
                body=body if isinstance(body, bytes) else str(body).encode(),
                enqueued=enqueued_time(record["EnqueuedTimeUtc"]),
                position=f"sequence {record.get('SequenceNumber', index)}",
            )
        )
    return messages


def capture_batch_name(path: str) -> str:
    """Landing batch name for the events of one Capture file (stable: replays reuse the paths)."""
    return "capture-" + safe_name(path.removesuffix(".avro"))


class CaptureFiles(dg.ConfigurableResource):
    """Where Event Hubs Capture writes: a local directory or an Azure Blob/ADLS container (az:// or abfss://)."""

    root_uri: str = Field(description="Directory, az://<container>/<prefix> or abfss://<container>@<account>.dfs.core.windows.net/<prefix>.")
    account_name: str | None = Field(default=None, description="Storage account (Azure roots).")
    account_key: str | None = Field(default=None, description="Account key; unset: DefaultAzureCredential.")
    endpoint: str | None = Field(default=None, description="Blob endpoint override (Azurite).")

    @property
    def is_local(self) -> bool:
        return "://" not in self.root_uri or self.root_uri.startswith("file://")

    @cached_property
    def _container(self):
        from azure.storage.blob import ContainerClient

        parsed = urlparse(self.root_uri)
        if parsed.scheme in ("abfs", "abfss"):
            container, _, host = parsed.netloc.partition("@")
            account = self.account_name or host.split(".")[0]
        else:
            container, account = parsed.netloc, self.account_name
        url = self.endpoint or f"https://{account}.blob.core.windows.net"
        if self.account_key:
            credential = {"account_name": account, "account_key": self.account_key}
        else:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return ContainerClient(account_url=url, container_name=container, credential=credential), parsed.path.strip("/")

    def list_files(self) -> list[tuple[str, float, int]]:
        """(path relative to the root, modified time, size) of every .avro file, sorted by path."""
        found = []
        if self.is_local:
            root = Path(self.root_uri.removeprefix("file://")).expanduser()
            for folder, _, names in os.walk(root):
                for name in names:
                    if name.endswith(".avro") and not name.startswith((".", "_")):
                        full = Path(folder) / name
                        stat = full.stat()
                        found.append((full.relative_to(root).as_posix(), stat.st_mtime, stat.st_size))
        else:
            client, prefix = self._container
            strip = f"{prefix}/" if prefix else ""
            for blob in client.list_blobs(name_starts_with=strip):
                if blob.name.endswith(".avro"):
                    found.append((blob.name[len(strip) :], blob.last_modified.timestamp(), blob.size))
        return sorted(found)

    def read_bytes(self, path: str) -> bytes:
        if ".." in Path(path).parts or path.startswith("/"):
            raise ValueError(f"capture path {path!r} is outside the capture root")
        if self.is_local:
            return (Path(self.root_uri.removeprefix("file://")).expanduser() / path).read_bytes()
        client, prefix = self._container
        return client.download_blob(f"{prefix}/{path}" if prefix else path).readall()
