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

Listing is tolerant (:meth:`LandingZone.scan`): a misnamed file is reported with its reason instead
of failing the listing, so one bad name cannot stop a month from loading. A file also counts as
misnamed when its folder's month is not a partition the platform serves (before
:data:`~retail_assets.lib.partitions.FIRST_MONTH`, or after the current month): loading it would
create a partition that does not exist. :func:`claimed_partition` says which table and month a bad
path was meant for, when its name still tells (``2024-01-32`` → 2024-01), so Bronze can quarantine
it there; a path that names no known table or served month is only reported by
``retail-assets landing check``.
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

from retail_assets.lib.partitions import FIRST_MONTH, MONTHLY
from retail_assets.lib.specs import REGISTRY

BATCH_FORMATS = (".parquet", ".csv")
EVENT_FORMAT = ".jsonl"
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The month a folder name starts with, even when the rest of it is wrong (2024-01-32, 2024-01x).
_MONTH_PREFIX = re.compile(r"^(\d{4})-(\d{2})")


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


def served_months(now: dt.datetime | None = None) -> tuple[dt.date, dt.date]:
    """First and last month the platform serves at ``now``: the monthly partitions that exist then."""
    with dg.partition_loading_context(effective_dt=now or dt.datetime.now(dt.UTC)):
        last = MONTHLY.get_last_partition_window()
    return FIRST_MONTH, last.start.date() if last else FIRST_MONTH


def check_served(landing_path: LandingPath, served: tuple[dt.date, dt.date] | None = None) -> LandingPath:
    """Refuse a path whose folder names a month that is not a partition (1900, 2999): nothing could serve it.

    ``served`` is :func:`served_months` (computed now when not given)."""
    first, last = served or served_months()
    if not first <= landing_path.month <= last:
        folder = PurePosixPath(landing_path.path).parts[2]
        raise LandingPathError(
            f"landing path {landing_path.path!r}: {folder} is outside the months the platform serves "
            f"({first:%Y-%m} to {last:%Y-%m}, the current month); move the file under the month of its data"
        )
    return landing_path


def claimed_partition(path: str, now: dt.datetime | None = None) -> tuple[str, dt.date] | None:
    """(table or event type, month) a landing path claims by its folders, even when the path is invalid.

    ``events/receipt_created/2024-01-32/b.jsonl`` claims (receipt_created, 2024-01). None when the
    path names no known table or event type, or no month the platform serves: such a file cannot be
    attributed to a partition's quarantine.
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if len(parts) < 4 or parts[0] not in ("batch", "events"):
        return None
    known = REGISTRY.tables if parts[0] == "batch" else REGISTRY.events_by_type
    match = _MONTH_PREFIX.match(parts[2])
    if parts[1] not in known or match is None or not 1 <= int(match[2]) <= 12:
        return None
    month = dt.date(int(match[1]), int(match[2]), 1)
    first, last = served_months(now)
    return (parts[1], month) if first <= month <= last else None


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
        """Visible files directly or indirectly under ``prefix``, validated, sorted by path; raises on a bad name."""
        return [LandingFile(parse_landing_path(rel), size, modified) for rel, size, modified in self._list(prefix)]

    def scan(self, prefix: str, now: dt.datetime | None = None) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        """Visible files under ``prefix`` sorted by path: the valid ones, and (path, reason) for the others.

        Invalid means outside the layout, an unknown table, or a folder month the platform does not
        serve at ``now`` (see :func:`check_served`).
        """
        files, rejected, served = [], [], served_months(now)
        for rel, size, modified in self._list(prefix):
            try:
                files.append(LandingFile(check_served(parse_landing_path(rel), served), size, modified))
            except LandingPathError as exc:
                rejected.append((rel, str(exc)))
        return files, rejected

    def audit(self) -> list[str]:
        """One message per visible file under batch/ or events/ that Bronze would never load."""
        return [reason for top in ("batch/", "events/") for _, reason in self.scan(top)[1]]

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

    def _month_listing(self, prefix: str, table: str, month: dt.date) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        files, rejected = self.scan(prefix)
        return (
            [f for f in files if f.path.month == month],
            [(path, reason) for path, reason in rejected if claimed_partition(path) == (table, month)],
        )

    def batch_listing(self, table: str, month: dt.date) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        """Batch files of ``table`` for ``month``, and (path, reason) of misnamed files claiming that month."""
        REGISTRY.table(table)
        return self._month_listing(f"batch/{table}/{month_dir(month)}", table, month)

    def batch_files(self, table: str, month: dt.date) -> list[LandingFile]:
        return self.batch_listing(table, month)[0]

    def dimension_listing(self, table: str) -> tuple[dict[dt.date, list[LandingFile]], list[tuple[str, str]]]:
        """Landed snapshots of a dimension by month, and (path, reason) of misnamed files claiming a month."""
        files, rejected = self.scan(f"batch/{REGISTRY.table(table).name}/")
        snapshots: dict[dt.date, list[LandingFile]] = {}
        for f in files:
            snapshots.setdefault(f.path.month, []).append(f)
        return dict(sorted(snapshots.items())), [(p, r) for p, r in rejected if claimed_partition(p) is not None]

    def dimension_snapshots(self, table: str) -> dict[dt.date, list[LandingFile]]:
        return self.dimension_listing(table)[0]

    def event_listing(self, event_type: str, month: dt.date) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        """Event files filed under any day of ``month``, and (path, reason) of misnamed files claiming it."""
        REGISTRY.event(event_type)
        return self._month_listing(f"events/{event_type}/{month_dir(month)}", event_type, month)

    def event_files(self, event_type: str, month: dt.date) -> list[LandingFile]:
        return self.event_listing(event_type, month)[0]

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
