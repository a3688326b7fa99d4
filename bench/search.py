"""How long `case find` takes at a village with many cases (issue 16 item 7).

The search decrypts the sealed parties at the node and compares (`nodes.search`); there is no
keyed index. This records `--cases` cases of two parties each into a fresh file (invented names,
valid ID numbers, phones), then times the searches a mediator makes, median of five, and the
short-case-number lookup. A measurement run on demand, never a timed test:

    .venv/bin/python -m bench.search [--cases 10000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from nodes.case_ids import resolve_case_id
from nodes.clock import FixedClock
from nodes.crypto import DataCipher, new_key
from nodes.domain.case import SHANGHAI, Rules
from nodes.domain.identity_numbers import check_char
from nodes.identity import IdentityHasher
from nodes.search import find_parties
from nodes.service import CaseService, PartyInput
from nodes.store.sqlite_store import SqliteStore
from protocol.areas import Tier
from protocol.reference import CaseSource

VILLAGE = "330681111242"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"


def record(path: Path, key: str, cases: int) -> float:
    """Record `cases` cases; returns the seconds it took."""
    store = SqliteStore(path, synchronous="OFF", cipher=DataCipher(key))
    service = CaseService(store, FixedClock(datetime(2026, 1, 5, 10, tzinfo=SHANGHAI)),
                          node_id=VILLAGE, tier=Tier.VILLAGE, rules=Rules(),
                          hasher=IdentityHasher("bench-identity-key-0001", "test"), seal=None)
    rng = random.Random(1)  # noqa: S311 - invented sample data, the same every run
    began = time.perf_counter()
    try:
        for i in range(cases):
            first17 = (f"330681{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}"
                       f"{rng.randint(1, 28):02d}{rng.randint(100, 999)}")
            parties = [
                PartyInput("applicant", rng.choice(SURNAMES) + rng.choice("某甲乙丙丁") + str(i),
                           first17 + check_char(first17),
                           f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"),
                PartyInput("respondent", rng.choice(SURNAMES) + "某", None,
                           f"0575-{rng.randint(10_000_000, 99_999_999)}")]
            service.new_case(source=CaseSource.APPLICATION, dispute_type="02",
                             facts=f"纠纷 {i}", parties=parties)
    finally:
        store.close()
    return time.perf_counter() - began


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return round(statistics.median(times) * 1000, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fengqiao-search-") as folder:
        path, key = Path(folder) / "node.db", new_key()
        recorded_s = record(path, key, args.cases)
        store = SqliteStore(path, cipher=DataCipher(key))
        try:
            middle = args.cases // 2
            figures = {
                "cases": args.cases, "record_s": round(recorded_s, 1),
                "find_name_ms": timed(lambda: find_parties(store, f"某{middle}")),
                "find_surname_ms": timed(lambda: find_parties(store, "张")),
                "find_phone_digits_ms": timed(lambda: find_parties(store, "1234")),
                "find_mobile_ms": timed(lambda: find_parties(store, "+86 138 0000 0000")),
                "short_number_ms": timed(lambda: resolve_case_id(store, str(middle)), 20),
            }
        finally:
            store.close()
    print(json.dumps(figures) if args.json else
          "\n".join(f"{k}: {v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
