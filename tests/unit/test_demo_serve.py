"""`fengqiao demo --serve` (issue 17 item 1) in a subprocess: a small city comes up, every node's
address is printed with its sample logins, two nodes' login pages answer, and Ctrl-C (SIGINT)
stops it cleanly with exit code 0; bad options are one sentence and exit code 2."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from demo.cli import NODES
from fengqiao import main as cli_main

START_TIMEOUT_S = 120.0
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
URL = re.compile(r"(http://127\.0\.0\.1:\d+/)")


def free_port_base(count: int = NODES) -> int:
    """A base from which `count` consecutive ports are free now (checked by binding each)."""
    for base in range(20100, 60000, 97):
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


def test_demo_serve_prints_addresses_serves_pages_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base = free_port_base()
    env = {**os.environ, "FENGQIAO_LANG": "en", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fengqiao", "demo", "--serve", "--cases", "2", "--port-base",
         str(base), "--dir", str(tmp_path / "city")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        out = "".join(lines)
        urls = URL.findall(out)
        assert len(urls) == NODES, out + (proc.stderr.read() if proc.poll() is not None
                                          and proc.stderr else "")
        assert urls[0] == f"http://127.0.0.1:{base}/"
        assert "sample" in out
        assert "password sample-2026" in out
        assert "mediator" in out
        assert "staff" in out
        for url in (urls[0], urls[-1]):  # the city and a village
            page = httpx.get(url + "login", timeout=10)
            assert page.status_code == 200
            assert 'name="password"' in page.text
            assert page.headers["cache-control"] == "no-store"
        township = urls[6]  # 示例县甲西镇: its first village escalated a case to it
        with httpx.Client(base_url=township, timeout=10) as client:
            token = TOKEN.search(client.get("/login").text)
            assert token
            client.post("/login", data={"name": "staff", "password": "sample-2026",
                                        "csrf_token": token.group(1)})
            today = client.get("/").text
            assert 'id="arr-h"' in today
            assert re.search(r'href="/cases/330681111201-\d{4}-\d{5}"', today)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with pytest.raises(httpx.TransportError):
        httpx.get(urls[0] + "login", timeout=2)


def test_serve_with_json_or_a_broker_is_one_sentence_and_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    for extra in (["--json"], ["--broker", "amqp://guest@127.0.0.1:1/"]):
        assert cli_main.main(["--lang", "en", "demo", "--serve", "--cases", "1", *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0
        assert "--serve" in err


@pytest.mark.parametrize("value", ["80", "65530", "x"])
def test_a_bad_port_base_is_refused_with_exit_2(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["--lang", "en", "demo", "--serve", "--port-base", value]) == 2
    assert f"{value!r} is not a port from 1024 to 65517" in capsys.readouterr().err
