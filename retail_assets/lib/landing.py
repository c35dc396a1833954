"""The landing zone: where batch files and streaming event files arrive, locally or on Azure.

Layout (relative to the landing root):

- ``batch/<table>/<YYYY-MM>/<name>.parquet|.csv`` — facts for that month; for dimensions, a full
  snapshot of the dimension as of that month;
- ``events/<event_type>/<YYYY-MM-DD>/<batch>.jsonl`` — one JSON envelope per line, filed under the
  UTC date of the events' ``ingest_timestamp``.

Files whose name starts with ``.`` or ``_`` are in-progress writes or markers and are ignored.
Every write publishes atomically (temporary name, then rename; a single blob upload on Azure), so
a reader never sees half a file. Paths are validated: anything outside the layout, or naming an
unknown table, is refused with an error that says what was expected.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from retail_assets.lib.specs import REGISTRY

BATCH_FORMATS = (".parquet", ".csv")
EVENT_FORMAT = ".jsonl"
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class LandingPathError(ValueError):
    """A landing path is outside the landing zone's layout or names an unknown table."""


@dataclass(frozen=True)
class LandingPath:
    """A validated landing file path."""

    path: str  # relative to the landing root, POSIX separators
    kind: Literal["batch", "events"]
    table: str  # table name, or event type for events
    period: dt.date  # month start (batch) or day (events)

    @property
    def month(self) -> dt.date:
        return self.period.replace(day=1)

    @property
    def batch_id(self) -> str:
        return PurePosixPath(self.path).stem

    @property
    def file_format(self) -> str:
        return PurePosixPath(self.path).suffix.lower()


@dataclass(frozen=True)
class LandingFile:
    path: LandingPath
    size: int
    modified: dt.datetime


def month_dir(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def batch_prefix(table: str, month: dt.date) -> str:
    return f"batch/{table}/{month_dir(month)}/"


def event_prefix(event_type: str, day: dt.date) -> str:
    return f"events/{event_type}/{day.isoformat()}/"


def parse_landing_path(path: str) -> LandingPath:
    """Validate a path relative to the landing root and say what it holds."""
    raw = path.replace("\\", "/")
    parts = PurePosixPath(raw).parts
    if raw.startswith("/") or any(p in ("..", ".") for p in parts) or "://" in raw:
        raise LandingPathError(f"landing path {path!r} is outside the landing zone: give a path relative to its root")
    if len(parts) != 4 or parts[0] not in ("batch", "events"):
        raise LandingPathError(
            f"landing path {path!r} does not follow the layout batch/<table>/<YYYY-MM>/<file> "
            "or events/<event_type>/<YYYY-MM-DD>/<batch>.jsonl"
        )
    kind, table, period, name = parts
    if kind == "batch":
        if table not in REGISTRY.tables:
            raise LandingPathError(f"landing path {path!r}: unknown table {table!r}; known tables: {sorted(REGISTRY.tables)}")
        if not _MONTH.match(period):
            raise LandingPathError(f"landing path {path!r}: {period!r} is not a month (YYYY-MM)")
        if not name.lower().endswith(BATCH_FORMATS):
            raise LandingPathError(f"landing path {path!r}: batch files must be {' or '.join(BATCH_FORMATS)}")
        try:
            when = dt.date.fromisoformat(f"{period}-01")
        except ValueError:
            raise LandingPathError(f"landing path {path!r}: {period!r} is not a valid month") from None
        return LandingPath(raw, "batch", table, when)
    if table not in REGISTRY.events_by_type:
        raise LandingPathError(
            f"landing path {path!r}: unknown event type {table!r}; known: {sorted(REGISTRY.events_by_type)}"
        )
    if not _DAY.match(period):
        raise LandingPathError(f"landing path {path!r}: {period!r} is not a date (YYYY-MM-DD)")
    if not name.endswith(EVENT_FORMAT):
        raise LandingPathError(f"landing path {path!r}: event files must be {EVENT_FORMAT}")
    try:
        when = dt.date.fromisoformat(period)
    except ValueError:
        raise LandingPathError(f"landing path {path!r}: {period!r} is not a valid date") from None
    return LandingPath(raw, "events", table, when)


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


class LandingZone(dg.ConfigurableResource):
    """Batch and event files, under a local directory or an Azure Blob/ADLS container."""

    root_uri: str = Field(
        description="Local directory, or az://<container>/<prefix> / abfss://<container>@<account>.dfs.core.windows.net/<prefix>."
    )
    account_name: str | None = Field(default=None, description="Azure storage account (Azure roots only).")
    account_key: str | None = Field(default=None, description="Account key; leave unset to use DefaultAzureCredential.")
    sas_token: str | None = Field(default=None, description="SAS token, as an alternative to the account key.")
    endpoint: str | None = Field(
        default=None, description="Blob endpoint override, e.g. http://127.0.0.1:10000/devstoreaccount1 for Azurite."
    )

    # ---- backend selection -----------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return "://" not in self.root_uri or self.root_uri.startswith("file://")

    @cached_property
    def _local_root(self) -> Path:
        return Path(self.root_uri.removeprefix("file://")).expanduser().resolve()

    @cached_property
    def _azure(self) -> tuple[object, str]:
        """(ContainerClient, prefix) for an Azure root."""
        from azure.storage.blob import ContainerClient

        parsed = urlparse(self.root_uri)
        if parsed.scheme in ("abfs", "abfss"):
            container, _, host = parsed.netloc.partition("@")
            account = self.account_name or host.split(".")[0]
        elif parsed.scheme in ("az", "azure"):
            container, account = parsed.netloc, self.account_name
        else:
            raise LandingPathError(f"unsupported landing root {self.root_uri!r}: use a directory, az:// or abfss://")
        if not account:
            raise LandingPathError(f"landing root {self.root_uri!r}: set the storage account name")
        account_url = self.endpoint or f"https://{account}.blob.core.windows.net"
        credential: object
        if self.account_key:
            credential = {"account_name": account, "account_key": self.account_key}
        elif self.sas_token:
            credential = self.sas_token
        else:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        client = ContainerClient(account_url=account_url, container_name=container, credential=credential)
        return client, parsed.path.strip("/")

    def _blob_name(self, relpath: str) -> str:
        _, prefix = self._azure
        return f"{prefix}/{relpath}" if prefix else relpath

    def _local_path(self, relpath: str) -> Path:
        target = (self._local_root / relpath).resolve()
        if not target.is_relative_to(self._local_root):
            raise LandingPathError(f"landing path {relpath!r} resolves outside the landing zone {self._local_root}")
        return target

    # ---- listing ---------------------------------------------------------------------------

    def list_files(self, prefix: str) -> list[LandingFile]:
        """Visible files directly or indirectly under ``prefix``, validated, sorted by path."""
        return [LandingFile(parse_landing_path(rel), size, modified) for rel, size, modified in self._list(prefix)]

    def audit(self) -> list[str]:
        """One message per visible file under batch/ or events/ that does not fit the layout."""
        problems = []
        for top in ("batch/", "events/"):
            for rel, _, _ in self._list(top):
                try:
                    parse_landing_path(rel)
                except LandingPathError as exc:
                    problems.append(str(exc))
        return problems

    def _list(self, prefix: str) -> list[tuple[str, int, dt.datetime]]:
        found: list[tuple[str, int, dt.datetime]] = []
        if self.is_local:
            # Same semantics as blob listing: a prefix, not necessarily a whole directory name.
            base = self._local_path(prefix if prefix.endswith("/") else str(PurePosixPath(prefix).parent))
            if base.is_dir():
                for root, dirs, files in os.walk(base):
                    dirs[:] = sorted(d for d in dirs if _visible(d))
                    for name in files:
                        if not _visible(name):
                            continue
                        full = Path(root) / name
                        stat = full.stat()
                        rel = full.relative_to(self._local_root).as_posix()
                        if not rel.startswith(prefix):
                            continue
                        found.append((rel, stat.st_size, dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)))
        else:
            client, root_prefix = self._azure
            strip = f"{root_prefix}/" if root_prefix else ""
            for blob in client.list_blobs(name_starts_with=self._blob_name(prefix)):
                rel = blob.name[len(strip) :]
                if all(_visible(part) for part in PurePosixPath(rel).parts):
                    found.append((rel, blob.size, blob.last_modified))
        return sorted(found)

    def batch_files(self, table: str, month: dt.date) -> list[LandingFile]:
        REGISTRY.table(table)
        return self.list_files(batch_prefix(table, month))

    def dimension_snapshots(self, table: str) -> dict[dt.date, list[LandingFile]]:
        """Landed snapshots of a dimension, by month."""
        snapshots: dict[dt.date, list[LandingFile]] = {}
        for f in self.list_files(f"batch/{REGISTRY.table(table).name}/"):
            snapshots.setdefault(f.path.month, []).append(f)
        return dict(sorted(snapshots.items()))

    def event_files(self, event_type: str, month: dt.date) -> list[LandingFile]:
        """Event files filed under any day of ``month``."""
        REGISTRY.event(event_type)
        return [f for f in self.list_files(f"events/{event_type}/{month_dir(month)}-") if f.path.month == month]

    # ---- reading and writing ---------------------------------------------------------------

    def read_bytes(self, relpath: str) -> bytes:
        parse_landing_path(relpath)
        if self.is_local:
            return self._local_path(relpath).read_bytes()
        client, _ = self._azure
        return client.download_blob(self._blob_name(relpath)).readall()

    def write_bytes(self, relpath: str, data: bytes) -> LandingPath:
        """Publish a file atomically: readers see all of it or nothing. Overwrites a file of the same name."""
        landing_path = parse_landing_path(relpath)
        if self.is_local:
            target = self._local_path(relpath)
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".", suffix=".tmp", delete=False) as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp.name, target)
        else:
            client, _ = self._azure
            client.upload_blob(self._blob_name(relpath), data, overwrite=True)
        return landing_path

    def ensure_root(self) -> None:
        """Create the local directory or the Azure container if it does not exist."""
        if self.is_local:
            self._local_root.mkdir(parents=True, exist_ok=True)
            return
        from azure.core.exceptions import ResourceExistsError

        client, _ = self._azure
        try:
            client.create_container()
        except ResourceExistsError:
            pass
