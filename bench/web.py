"""Server-side page times and the node's memory with the web app loaded (issue 17, "Tests").

A village made with `fengqiao node init` (no broker: `memory://`) gets `--cases` cases recorded
through its service (two parties each, invented): `--open-share` of them (default 0.1) open and
recent, some accepted, in mediation or red-flagged; the rest settled and closed over two years;
and an account made with `fengqiao user add`. Then `fengqiao node run` serves it as a child
process on a free loopback port; a logged-in client opens each page `--repeat` times after two
warm-up loads, and the child's VmRSS (and its peak, VmHWM) is read from /proc once the pages were
served. Times are wall-clock over loopback, so they include a little HTTP overhead the
server alone does not spend. Targets (issue 17): every page ≤ 100 ms, village node ≤ 100 MB RSS;
these are figures to read, never assertions:

    .venv/bin/python -m bench.web [--cases 5000] [--open-share 0.1] [--repeat 20] [--json]

The parties' identity hash uses the cheap "test" cost profile (the standard one costs ~20 ms a
party to record and has no part in serving a page).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from fengqiao.bootstrap import bootstrap
from nodes.config import load_config
from nodes.domain import commands as cmd
from nodes.domain import paths
from nodes.domain.case import SHANGHAI, Case, Rules, local_date
from nodes.i18n import N_, t
from nodes.service import PartyInput
from protocol.reference import CaseSource

VILLAGE = "330681111242"
FENGQIAO = (sys.executable, "-m", "fengqiao")
ACCOUNT, PASSWORD = "bench-mediator", "bench-password-2026"  # a throwaway file's account
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
START_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_node(folder: Path, port: int) -> Path:
    """`node init` a village listening on `port`, with one mediator's account; its config."""
    subprocess.run(  # noqa: S603 - our own program, a fixed argument list
        [*FENGQIAO, "node", "init", "--code", VILLAGE, "--dir", str(folder)],
        check=True, capture_output=True, timeout=120)
    config = folder / "fengqiao.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(f'identity_cost = "test"\n{text}\n[web]\nlisten = "127.0.0.1:{port}"\n',
                      encoding="utf-8")
    subprocess.run(  # noqa: S603 - our own program, a fixed argument list
        [*FENGQIAO, "--config", str(config), "user", "add", ACCOUNT, "--roles", "mediator",
         "--password-stdin"], input=PASSWORD + "\n", text=True, check=True,
        capture_output=True, timeout=120)
    return config


class SetClock:
    """The clock the cases are recorded by: set to each case's own day in turn."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def _settled(rules: Rules) -> Callable[[Case, Any, Any], None]:
    def steps(case: Case, actor: Any, at: Any) -> None:
        paths.accept_with_consent(case, actor, at, rules)
        cmd.mediate(case, actor, at, rules)
        cmd.agree(case, actor, at, rules, form="oral", terms="双方互谅，共同修缮",
                  effective_date=local_date(at))
        cmd.perform(case, actor, at)
        paths.follow_up(case, actor, at, honoured=True)
        cmd.close(case, actor, at)
    return steps


def record(config: Path, cases: int, open_share: float) -> tuple[float, str]:
    """Record `cases` cases through the node's service: a share `open_share` of them open,
    registered in the last 30 days (some accepted, some in mediation, some red-flagged); the
    rest settled and closed over the two years before. Returns the seconds it took, and an
    open case's id (the case page's)."""
    now = datetime.now(SHANGHAI)
    clock = SetClock(now)
    node = bootstrap(load_config(config), clock=clock)
    rules = node.service.rules
    settled = _settled(rules)
    every = max(1, round(1 / open_share)) if open_share > 0 else cases + 1

    def accepted(case: Case, actor: Any, at: Any) -> None:
        paths.accept_with_consent(case, actor, at, rules)

    def mediating(case: Case, actor: Any, at: Any) -> None:
        paths.accept_with_consent(case, actor, at, rules)
        cmd.mediate(case, actor, at, rules)

    def flagged(case: Case, actor: Any, at: Any) -> None:
        cmd.red_flag(case, actor, at, note="扬言报复", police_reported=True)
    began, shown = time.perf_counter(), ""
    try:
        for i in range(cases):
            is_open, k = i % every == 0, i // every  # k: the open cases' own count
            clock.at = now - (timedelta(days=k % 30, hours=1) if is_open else
                              timedelta(days=60 + 670 * (cases - i) // cases))
            surname = SURNAMES[i % len(SURNAMES)]
            case_id = node.service.new_case(
                source=CaseSource.APPLICATION, dispute_type="02", facts=f"纠纷 {i}",
                parties=[PartyInput("applicant", f"{surname}某{i}", None, f"138{i:08d}"),
                         PartyInput("respondent", f"{surname}某")]).case_id
            step: Callable[[Case, Any, Any], None] | None = (
                settled if not is_open else mediating if k % 7 == 0
                else accepted if k % 5 == 0 else flagged if k % 50 == 1 else None)
            if step is not None:
                node.service.act(case_id, step)
            if is_open and (not shown or i <= cases // 2):
                shown = case_id
    finally:
        node.close()
    return time.perf_counter() - began, shown


def _rss_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of `pid`, in MB (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return {"rss_mb": round(int(found["VmRSS"]) / 1024, 1),
            "peak_rss_mb": round(int(found["VmHWM"]) / 1024, 1)}


def _login(client: httpx.Client) -> None:
    match = TOKEN.search(client.get("/login").text)
    if match is None:
        raise RuntimeError("the login page has no CSRF token")
    answer = client.post("/login", data={"csrf_token": match.group(1), "name": ACCOUNT,
                                         "password": PASSWORD})
    if answer.status_code != 303:
        raise RuntimeError(f"login refused ({answer.status_code})")


def time_pages(url: str, pages: dict[str, str], repeat: int) -> dict[str, dict[str, float]]:
    """Median and 95th percentile milliseconds of each page, after two warm-up loads."""
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        _login(client)
        for name, path in pages.items():
            for _ in range(2):
                client.get(path).raise_for_status()
            times = []
            for _ in range(repeat):
                began = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - began) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            out[name] = {"median_ms": round(statistics.median(times), 1),
                         "p95_ms": round(p95, 1), "bytes": len(client.get(path).content)}
    return out


def measure(cases: int, repeat: int, folder: Path, open_share: float = 0.1) -> dict[str, Any]:
    port = _free_port()
    config = make_node(folder / "village", port)
    record_s, middle = record(config, cases, open_share)
    log = (folder / "node-run.log").open("w")
    child = subprocess.Popen(  # noqa: S603 - our own program, a fixed argument list
        [*FENGQIAO, "node", "run", "--config", str(config)],
                             stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_S
        while True:
            try:
                httpx.get(f"{url}/login", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("`node run` did not serve its web app") from None
                time.sleep(0.2)
        idle = _rss_mb(child.pid)
        pages = time_pages(url, {"today": "/", "case_list": "/cases",
                                 "overdue_list": "/cases?overdue=1",
                                 "case_page": f"/cases/{middle}", "new_case": "/cases/new"},
                           repeat)
        memory = _rss_mb(child.pid)
        child.send_signal(signal.SIGTERM)
        exit_code = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        log.close()
    return {"cases": cases, "open_share": open_share, "repeat": repeat,
            "record_s": round(record_s, 1), "pages": pages,
            "rss_mb_before_pages": idle["rss_mb"], **memory, "exit_code": exit_code,
            "targets": {"page_ms": 100, "rss_mb": 100}, "cpus": os.cpu_count()}


PAGES = {"today": N_("today page"), "case_list": N_("case list page"),
         "overdue_list": N_("case list, overdue only"),
         "case_page": N_("case page"), "new_case": N_("new-case form")}


def render(figures: dict[str, Any], lang: str | None = None) -> str:
    """The figures as lines for people (`--json` gives the same as data)."""
    lines = [t(N_("{page}: median {median} ms, p95 {p95} ms, {size} bytes"), lang,
               page=t(PAGES[name], lang), median=page["median_ms"], p95=page["p95_ms"],
               size=page["bytes"]) for name, page in figures["pages"].items()]
    lines.append(t(N_("village node RSS after the pages: {rss} MB (peak {peak} MB, {before} MB "
                      "before them); {cases} cases, {share}% open, recorded in {seconds} s"),
                   lang, rss=figures["rss_mb"], peak=figures["peak_rss_mb"],
                   before=figures["rss_mb_before_pages"], cases=figures["cases"],
                   share=round(figures["open_share"] * 100), seconds=figures["record_s"]))
    lines.append(t(N_("targets: every page at most {ms} ms, the village node at most {mb} MB"),
                   lang, ms=figures["targets"]["page_ms"], mb=figures["targets"]["rss_mb"]))
    return "\n".join(lines)


def run_in(folder: Path | None, cases: int, repeat: int, open_share: float) -> dict[str, Any]:
    """`measure` in `folder` (kept), else in a temporary folder removed afterwards."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return measure(cases, repeat, folder, open_share)
    with tempfile.TemporaryDirectory(prefix="fengqiao-web-bench-") as temp:
        return measure(cases, repeat, Path(temp), open_share)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--open-share", type=float, default=0.1,
                        help="share of the cases still open (the rest closed, over two years)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.repeat < 1 or not 0 <= args.open_share <= 1:
        parser.error("--cases and --repeat must be positive, --open-share from 0 to 1")
    figures = run_in(None, args.cases, args.repeat, args.open_share)
    print(json.dumps(figures, ensure_ascii=False) if args.json else render(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
