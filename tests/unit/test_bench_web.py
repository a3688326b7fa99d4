"""`python -m bench.web` at a small size (issue 17): it records the cases, serves them from a
real `node run` child, reports a time for each page and the child's memory, and the child stops
cleanly on SIGTERM. The figures themselves are not asserted: they are measurements."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.web import measure
from tests.support.program import FENGQIAO


def test_the_web_bench_reports_every_page_and_the_memory(tmp_path: Path) -> None:
    figures = measure(30, 2, tmp_path)
    assert set(figures["pages"]) == {"today", "case_list", "overdue_list", "case_page", "new_case"}
    for page in figures["pages"].values():
        assert 0 < page["median_ms"] <= page["p95_ms"]
        assert page["bytes"] > 1000  # a page, not a redirect to the login
    assert figures["rss_mb"] > 10
    assert figures["peak_rss_mb"] >= figures["rss_mb"]
    assert figures["exit_code"] == 0


def test_fengqiao_bench_web_prints_the_figures_as_json() -> None:
    done = subprocess.run([*FENGQIAO, "bench", "--web", "--web-cases", "20", "--json"],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["cases"] == 20
    assert set(figures["pages"]) == {"today", "case_list", "overdue_list", "case_page", "new_case"}


def test_fengqiao_bench_web_refuses_no_cases_in_one_sentence() -> None:
    done = subprocess.run([*FENGQIAO, "bench", "--web", "--web-cases", "0"],
                          capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
