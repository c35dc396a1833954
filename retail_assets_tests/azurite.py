"""Start Microsoft's Azurite storage emulator (npm ``azurite``) for tests that need Azure Blob storage.

Azurite has no ADLS Gen2 (dfs) API, so ``abfss://`` URIs are exercised through the Blob API that
delta-rs/object_store use for every Azure scheme; hierarchical-namespace-only operations cannot be
tested here.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AZURITE = REPO / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (https://learn.microsoft.com/azure/storage/common/storage-use-azurite):
# it only opens the local emulator and is the same on every machine; it is not a secret.
WELL_KNOWN_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class Azurite:
    endpoint: str
    account: str = ACCOUNT
    key: str = WELL_KNOWN_KEY

    def create_container(self, name: str) -> None:
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        service = BlobServiceClient(account_url=self.endpoint, credential={"account_name": self.account, "account_key": self.key})
        try:
            service.create_container(name)
        except ResourceExistsError:
            pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_azurite(workdir: Path) -> tuple[subprocess.Popen, Azurite]:
    if not AZURITE.exists():
        raise RuntimeError(
            f"Azurite is not installed at {AZURITE}: run `npm ci` in the repository root (README, 'Tests')"
        )
    if shutil.which("node") is None:
        raise RuntimeError("node is not on PATH; Azurite needs Node.js 18+")
    port = _free_port()
    log = open(workdir / "azurite.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(workdir),
         "--skipApiVersionCheck", "--loose", "--disableTelemetry"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with {process.returncode}: {(workdir / 'azurite.log').read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process, Azurite(endpoint=f"http://127.0.0.1:{port}/{ACCOUNT}")
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("Azurite did not start listening within 30 s")
