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

Streaming lists folder by folder (:meth:`LandingZone.list_folders`, :meth:`LandingZone.folder_stamp`,
:meth:`LandingZone.list_folder`; the planning is ``lib/streaming/listing.py``) so a poll costs what
the folders it still needs hold, not the whole landing zone. Acknowledged event files may be moved
under ``archive/`` (same relative path) or deleted by retention (``lib/streaming/retention.py``):
an archived file keeps its identity (its landing path, the ``_source_file`` of its rows), and every
reader of a month (:meth:`LandingZone.event_listing`, :meth:`LandingZone.read_bytes`) still finds
it there, so a month rebuild gives the same rows. A deleted file leaves a tombstone under
``_pruned/``; a month rebuild that would need it refuses (:class:`LandingPrunedError`) instead of
silently dropping its rows.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from retail_assets.lib.partitions import FIRST_MONTH, MONTHLY
from retail_assets.lib.specs.registry import DOMAINS, REGISTRY, Registry

BATCH_FORMATS = (".parquet", ".csv")
EVENT_FORMAT = ".jsonl"
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The month a folder name starts with, even when the rest of it is wrong (2024-01-32, 2024-01x).
_MONTH_PREFIX = re.compile(r"^(\d{4})-(\d{2})")


class LandingPathError(ValueError):
    """A landing path is outside the landing zone's layout or names an unknown table."""


class LandingPrunedError(LandingPathError):
    """A month rebuild needs landing files that retention deleted: rebuilding would drop their rows from Bronze."""


# Acknowledged event files moved by retention keep their path under this folder (archive/events/<type>/<day>/...).
ARCHIVE = "archive"
# Tombstones of event files deleted by retention: _pruned/events/<type>/<day>/<name> (empty markers).
TOMBSTONES = "_pruned"


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


def parse_landing_path(path: str, registry: Registry = REGISTRY) -> LandingPath:
    """Validate a path relative to the landing root and say what it holds (tables and event types of ``registry``,
    the retail domain's unless a landing zone of another domain asks)."""
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
        if table not in registry.tables:
            raise LandingPathError(f"landing path {path!r}: unknown table {table!r}; known tables: {sorted(registry.tables)}")
        if not _MONTH.match(period):
            raise LandingPathError(f"landing path {path!r}: {period!r} is not a month (YYYY-MM)")
        if not name.lower().endswith(BATCH_FORMATS):
            raise LandingPathError(f"landing path {path!r}: batch files must be {' or '.join(BATCH_FORMATS)}")
        try:
            when = dt.date.fromisoformat(f"{period}-01")
        except ValueError:
            raise LandingPathError(f"landing path {path!r}: {period!r} is not a valid month") from None
        return LandingPath(raw, "batch", table, when)
    if table not in registry.events_by_type:
        raise LandingPathError(
            f"landing path {path!r}: unknown event type {table!r}; known: {sorted(registry.events_by_type)}"
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


def claimed_partition(
    path: str, now: dt.datetime | None = None, registry: Registry = REGISTRY
) -> tuple[str, dt.date] | None:
    """(table or event type, month) a landing path claims by its folders, even when the path is invalid.

    ``events/receipt_created/2024-01-32/b.jsonl`` claims (receipt_created, 2024-01). None when the
    path names no known table or event type, or no month the platform serves: such a file cannot be
    attributed to a partition's quarantine.
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if len(parts) < 4 or parts[0] not in ("batch", "events"):
        return None
    known = registry.tables if parts[0] == "batch" else registry.events_by_type
    match = _MONTH_PREFIX.match(parts[2])
    if parts[1] not in known or match is None or not 1 <= int(match[2]) <= 12:
        return None
    month = dt.date(int(match[1]), int(match[2]), 1)
    first, last = served_months(now)
    return (parts[1], month) if first <= month <= last else None


def _visible(name: str) -> bool:
    return not name.startswith((".", "_"))


def validate_entries(
    entries: list[tuple[str, int, dt.datetime]], served: tuple[dt.date, dt.date], registry: Registry = REGISTRY
) -> tuple[list[LandingFile], list[tuple[str, str]]]:
    """Listed (path, size, modified) → the valid landing files, and (path, reason) for the misnamed ones."""
    files, rejected = [], []
    for rel, size, modified in entries:
        try:
            files.append(LandingFile(check_served(parse_landing_path(rel, registry), served), size, modified))
        except LandingPathError as exc:
            rejected.append((rel, str(exc)))
    return files, rejected


def _is_valid(rel: str, served: tuple[dt.date, dt.date], registry: Registry) -> bool:
    try:
        check_served(parse_landing_path(rel, registry), served)
    except LandingPathError:
        return False
    return True


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
    domain: str = Field(
        default="retail",
        description="Whose tables and event types land here (lib/specs/registry.py DOMAINS): retail or edge.",
    )

    @property
    def registry(self) -> Registry:
        try:
            return DOMAINS[self.domain]
        except KeyError:
            raise LandingPathError(
                f"landing zone {self.root_uri!r}: unknown domain {self.domain!r}; known: {sorted(DOMAINS)}"
            ) from None

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
        entries = self._list(prefix)
        return [LandingFile(parse_landing_path(rel, self.registry), size, modified) for rel, size, modified in entries]

    def scan(self, prefix: str, now: dt.datetime | None = None) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        """Visible files under ``prefix`` sorted by path: the valid ones, and (path, reason) for the others.

        Invalid means outside the layout, an unknown table, or a folder month the platform does not
        serve at ``now`` (see :func:`check_served`).
        """
        return validate_entries(self._list(prefix), served_months(now), self.registry)

    # ---- folder by folder (bounded streaming listings) -------------------------------------

    def list_folders(self, folder: str) -> tuple[list[str], list[tuple[str, int, dt.datetime]]]:
        """The visible sub-folder names directly under ``folder`` (``events`` or ``events/<type>``), and the visible
        files directly in it (path, size, modified). One directory listing (on Azure one blob listing with a ``/``
        delimiter): its cost grows with the entries of that folder, not with the files below its sub-folders."""
        folder = folder.strip("/")
        names: list[str] = []
        files: list[tuple[str, int, dt.datetime]] = []
        if self.is_local:
            base = self._local_path(folder)
            try:
                entries = list(os.scandir(base))
            except (FileNotFoundError, NotADirectoryError):
                return [], []
            for entry in entries:
                if not _visible(entry.name):
                    continue
                if entry.is_dir():
                    names.append(entry.name)
                else:
                    stat = entry.stat()
                    modified = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)
                    files.append((f"{folder}/{entry.name}", stat.st_size, modified))
        else:
            client, root_prefix = self._azure
            strip = f"{root_prefix}/" if root_prefix else ""
            for item in client.walk_blobs(name_starts_with=self._blob_name(f"{folder}/"), delimiter="/"):
                rel = item.name[len(strip) :]
                name = PurePosixPath(rel).name
                if not _visible(name):
                    continue
                if rel.endswith("/"):
                    names.append(name)
                else:
                    files.append((rel, item.size, item.last_modified))
        return sorted(names), sorted(files)

    def folder_stamp(self, folder: str) -> int | None:
        """The folder's modification time in nanoseconds on local disk: it changes whenever an entry is created,
        renamed in (``mv`` of a file keeping an old mtime included) or removed. None on Azure, where folders are
        only name prefixes and have no time, and when the folder does not exist."""
        if not self.is_local:
            return None
        try:
            return self._local_path(folder).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def list_folder(self, folder: str) -> list[tuple[str, int, dt.datetime]]:
        """(path, size, modified) of the visible files under one folder (and its sub-folders), sorted by path."""
        return self._list(f"{folder.strip('/')}/")

    # ---- retention: archive, delete, tombstones --------------------------------------------

    def archive_file(self, relpath: str) -> bool:
        """Move an event file under ``archive/`` (same relative path); False when it is no longer in place.

        Local: one rename (atomic; an archived copy of the same name is replaced). Azure: upload the copy, then
        delete the original; a killed move leaves both, which readers resolve to the same bytes, and a re-run
        finishes it."""
        parse_landing_path(relpath, self.registry)
        target = f"{ARCHIVE}/{relpath}"
        if self.is_local:
            source, dest = self._local_path(relpath), self._local_path(target)
            if not source.is_file():
                return False
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, dest)
            return True
        from azure.core.exceptions import ResourceNotFoundError

        client, _ = self._azure
        try:
            data = client.download_blob(self._blob_name(relpath)).readall()
        except ResourceNotFoundError:
            return False
        client.upload_blob(self._blob_name(target), data, overwrite=True)
        client.delete_blob(self._blob_name(relpath))
        return True

    def delete_file(self, relpath: str) -> bool:
        """Delete an event file, leaving its tombstone first (so a month rebuild knows it is gone on purpose)."""
        parse_landing_path(relpath, self.registry)
        self._put_raw(f"{TOMBSTONES}/{relpath}", b"")
        if self.is_local:
            try:
                self._local_path(relpath).unlink()
            except FileNotFoundError:
                return False
            return True
        from azure.core.exceptions import ResourceNotFoundError

        client, _ = self._azure
        try:
            client.delete_blob(self._blob_name(relpath))
        except ResourceNotFoundError:
            return False
        return True

    def deleted_files(self, prefix: str) -> set[str]:
        """Landing paths under ``prefix`` (e.g. ``events/<type>/<YYYY-MM>``) that retention deleted."""
        return {rel.removeprefix(f"{TOMBSTONES}/") for rel, _, _ in self._list(f"{TOMBSTONES}/{prefix}", hidden=True)}

    def _put_raw(self, relpath: str, data: bytes) -> None:
        if self.is_local:
            target = self._local_path(relpath)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        else:
            client, _ = self._azure
            client.upload_blob(self._blob_name(relpath), data, overwrite=True)

    def audit(self) -> list[str]:
        """One message per visible file under batch/ or events/ that Bronze would never load."""
        return [reason for top in ("batch/", "events/") for _, reason in self.scan(top)[1]]

    def _list(self, prefix: str, hidden: bool = False) -> list[tuple[str, int, dt.datetime]]:
        """(path, size, modified) of the files under ``prefix``; names starting with ``.``/``_`` if ``hidden``."""
        found: list[tuple[str, int, dt.datetime]] = []
        visible = (lambda name: True) if hidden else _visible
        if self.is_local:
            # Same semantics as blob listing: a prefix, not necessarily a whole directory name.
            base = self._local_path(prefix if prefix.endswith("/") else str(PurePosixPath(prefix).parent))
            if base.is_dir():
                for root, dirs, files in os.walk(base):
                    dirs[:] = sorted(d for d in dirs if visible(d))
                    for name in files:
                        if not visible(name):
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
                if all(visible(part) for part in PurePosixPath(rel).parts):
                    found.append((rel, blob.size, blob.last_modified))
        return sorted(found)

    def _month_listing(self, prefix: str, table: str, month: dt.date) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        files, rejected = self.scan(prefix)
        if prefix.startswith("events/"):
            files = self._with_archived(prefix, files)
        return (
            [f for f in files if f.path.month == month],
            [(p, reason) for p, reason in rejected if claimed_partition(p, registry=self.registry) == (table, month)],
        )

    def _with_archived(self, prefix: str, files: list[LandingFile]) -> list[LandingFile]:
        """Live files plus those retention archived (under their landing path; the live file wins a name clash).
        Refuses when retention deleted a file of the listing that is not back in place: its rows would be lost."""
        served = served_months()
        live = {f.path.path for f in files}
        moved = [(rel.removeprefix(f"{ARCHIVE}/"), size, modified) for rel, size, modified in self._list(f"{ARCHIVE}/{prefix}")]
        archived = [
            LandingFile(check_served(parse_landing_path(rel, self.registry), served), size, modified)
            for rel, size, modified in moved
            if rel not in live and _is_valid(rel, served, self.registry)
        ]
        present = live | {f.path.path for f in archived}
        gone = sorted(self.deleted_files(prefix) - present)
        if gone:
            parsed = parse_landing_path(gone[0], self.registry)
            raise LandingPrunedError(
                f"bronze/{parsed.table} {parsed.month:%Y-%m}: {len(gone)} landing files of this month were deleted by "
                f"landing retention (RETAIL_LANDING_RETENTION_MODE=delete), e.g. {gone[0]}; rebuilding the month from "
                "the landing zone would drop their rows from Bronze. Put the files back under their path (or under "
                f"{ARCHIVE}/), or keep the month as Bronze holds it"
            )
        return sorted([*files, *archived], key=lambda f: f.path.path)

    def batch_listing(self, table: str, month: dt.date) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        """Batch files of ``table`` for ``month``, and (path, reason) of misnamed files claiming that month."""
        self.registry.table(table)
        return self._month_listing(f"batch/{table}/{month_dir(month)}", table, month)

    def batch_files(self, table: str, month: dt.date) -> list[LandingFile]:
        return self.batch_listing(table, month)[0]

    def dimension_listing(self, table: str) -> tuple[dict[dt.date, list[LandingFile]], list[tuple[str, str]]]:
        """Landed snapshots of a dimension by month, and (path, reason) of misnamed files claiming a month."""
        files, rejected = self.scan(f"batch/{self.registry.table(table).name}/")
        snapshots: dict[dt.date, list[LandingFile]] = {}
        for f in files:
            snapshots.setdefault(f.path.month, []).append(f)
        claimed = [(p, r) for p, r in rejected if claimed_partition(p, registry=self.registry) is not None]
        return dict(sorted(snapshots.items())), claimed

    def dimension_snapshots(self, table: str) -> dict[dt.date, list[LandingFile]]:
        return self.dimension_listing(table)[0]

    def event_listing(self, event_type: str, month: dt.date) -> tuple[list[LandingFile], list[tuple[str, str]]]:
        """Event files filed under any day of ``month``, and (path, reason) of misnamed files claiming it."""
        self.registry.event(event_type)
        return self._month_listing(f"events/{event_type}/{month_dir(month)}", event_type, month)

    def event_files(self, event_type: str, month: dt.date) -> list[LandingFile]:
        return self.event_listing(event_type, month)[0]

    # ---- reading and writing ---------------------------------------------------------------

    def read_bytes(self, relpath: str) -> bytes:
        """The file's bytes; an event file retention archived is read from ``archive/`` under the same path."""
        parsed = parse_landing_path(relpath, self.registry)
        if self.is_local:
            try:
                return self._local_path(relpath).read_bytes()
            except FileNotFoundError:
                if parsed.kind != "events" or not self._local_path(f"{ARCHIVE}/{relpath}").is_file():
                    raise
                return self._local_path(f"{ARCHIVE}/{relpath}").read_bytes()
        from azure.core.exceptions import ResourceNotFoundError

        client, _ = self._azure
        try:
            return client.download_blob(self._blob_name(relpath)).readall()
        except ResourceNotFoundError:
            if parsed.kind != "events":
                raise
            return client.download_blob(self._blob_name(f"{ARCHIVE}/{relpath}")).readall()

    def parquet_source(self, relpath: str) -> str | io.BytesIO:
        """What ``pl.scan_parquet`` reads a landed batch file from: the local file itself (decoded a row group at a
        time, never held whole), or on Azure its bytes (compressed, a fraction of the decoded rows)."""
        return str(self._local_path(relpath)) if self.is_local else io.BytesIO(self.read_bytes(relpath))

    def write_bytes(self, relpath: str, data: bytes) -> LandingPath:
        """Publish a file atomically: readers see all of it or nothing. Overwrites a file of the same name."""
        landing_path = parse_landing_path(relpath, self.registry)
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

    @contextmanager
    def staged_file(self, relpath: str) -> Iterator[Path]:
        """A local file to write ``relpath``'s content into, published atomically when the block exits
        without an error (discarded otherwise): for files too large to hold as bytes. Locally it is a
        hidden temporary file beside the target, renamed over it; on Azure a temporary file uploaded
        in staged blocks that become the blob only when the block list is committed."""
        parse_landing_path(relpath, self.registry)  # a path outside the layout is refused before anything is written
        if self.is_local:
            target = self._local_path(relpath)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        else:
            fd, name = tempfile.mkstemp(prefix="landing-", suffix=".tmp")
        os.close(fd)
        staged = Path(name)
        try:
            yield staged
            if self.is_local:
                with staged.open("rb+") as f:
                    os.fsync(f.fileno())
                os.replace(staged, target)
            else:
                client, _ = self._azure
                with staged.open("rb") as f:
                    client.upload_blob(self._blob_name(relpath), f, length=staged.stat().st_size, overwrite=True)
        finally:
            staged.unlink(missing_ok=True)

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
