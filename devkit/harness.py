"""Start `python -m devkit serve` as a subprocess on a free loopback port: for tests and benchmarks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent  # the Duck checkout


class Runtime:
    def __init__(self, *settings: str, plugin_dir: Path = ROOT, env: dict | None = None, delay_ms: float = 0,
                 config: Path | None = None):
        args = [sys.executable, "-m", "devkit", "serve", str(plugin_dir), "--port", "0",
                "--token-delay-ms", str(delay_ms)] + (["--config", str(config)] if config else [])
        for setting in settings:
            args += ["--setting", setting]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, text=True)
        self.lines: list[str] = []
        self.base_url = self.api_key = ""
        deadline = time.monotonic() + 60
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("Base URL: "):
                self.base_url = line.split(": ", 1)[1].strip()
            elif line.startswith("API key: "):
                self.api_key = line.split(": ", 1)[1].split()[0]
                break
            if time.monotonic() > deadline:
                break
        if not self.api_key:
            self.stop()
            raise RuntimeError("the runtime did not start:\n" + "".join(self.lines))
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    @property
    def port(self) -> int:
        return int(re.search(r":(\d+)/", self.base_url).group(1))

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def plugin_process(self) -> psutil.Process:
        return psutil.Process(self.proc.pid).children()[0]

    def output(self) -> str:
        return "".join(self.lines)

    def _read_rest(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
