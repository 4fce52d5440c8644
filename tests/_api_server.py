"""A real ``furnsim serve`` in a subprocess for the API tests (127.0.0.1, a free port)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "bom_data" / "paper_example" / "plant.yaml"
KEY = "test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m furnsim.cli serve PLANT`` with its own data folder (and database URL)."""

    def __init__(
        self,
        data: Path,
        db_url: str | None = None,
        plant: Path = PAPER,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data = data
        self.db_url = db_url
        self.plant = plant
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log = data / "server.log"

    def start(self, timeout: float = 60.0) -> Server:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FURNSIM_")}
        env.update(
            FURNSIM_DATA=str(self.data),
            FURNSIM_API_KEYS=KEY,
            FURNSIM_API_MAX_BODY_BYTES="20000",
            FURNSIM_API_MAX_ORDERS="50",
            PYTHONUNBUFFERED="1",
        )
        if self.db_url:
            env["FURNSIM_DB_URL"] = self.db_url
        env.update(self.extra_env)
        self.data.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "furnsim.cli", "serve", str(self.plant)]
        cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop(kill=True)
        raise RuntimeError(f"server not up after {timeout} s:\n{self.log.read_text()}")

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def client(self, key: str | None = KEY) -> httpx.Client:
        headers = {"X-API-Key": key} if key is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def wait_done(c: httpx.Client, plan_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a plan until it is done or failed."""
    t0 = time.monotonic()
    while True:
        r = c.get(f"/v1/plans/{plan_id}")
        assert r.status_code == 200, r.text
        d: dict[str, Any] = r.json()
        if d["status"] in ("done", "failed"):
            return d
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"plan {plan_id} still {d['status']} after {timeout} s")
        time.sleep(0.05)
