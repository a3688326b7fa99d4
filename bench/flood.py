"""The escalation flood (issue 15 item 4): how long a legitimate escalation from one village waits
at its township hub behind a flood of valid escalations for new case ids from a sibling village.

The hub is the production runtime (`NodeRuntime`, as `fengqiao hub run` builds it) in a child
process, on a shared RabbitMQ as guest (user ids cannot name the sender there; the routing key
does, as topic permissions make it on a deployed broker). The driver publishes the flood as an
independent client would (pika, confirms, one envelope per message), then one escalation from the
other village, and polls the hub's file until that case is registered. Reported: the legitimate
escalation's delay from its publish to its commit at the hub, and when the hub had applied the
whole flood. Nothing here is a timed assertion: this is a measurement, run on demand:

    .venv/bin/python -m bench.flood [--broker URL] [--flood 20000] [--per-hour N]

`--per-hour 1000000` turns pacing off (the figure before it); the default is the hub's default.

Codes are invented under city 3396 with a random county per run; the run's queue is deleted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pika
import pika.exceptions

from bench.settings import DEFAULT_BROKER
from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.keyring import LocalKeyring
from nodes.logs import configure
from nodes.messaging.runtime import NodeRuntime, serve
from nodes.messaging.settings import ESCALATIONS_PER_HOUR
from nodes.messaging.signing import Sealer, Signer
from protocol.areas import Tier
from protocol.envelope import encode, make_envelope
from protocol.messages import CaseEscalated, Party
from protocol.reference import EscalationReason
from protocol.routing import node_key
from protocol.topology import EXCHANGE_UP, node_queue_name

SALT = "bench-identity-key-not-a-secret"
# Message keys derived from a seed, so the driver and the hub's process agree (invented data).
KEYS = LocalKeyring.derived("bench-flood-keys-not-a-secret")
FACTS = "（压测示例）两户因宅基地边界发生争执，村调委会调解未成，经当事人同意上报乡镇。"
POLL_S = 0.01


def hub_config(code: str, workdir: Path, broker: str, per_hour: int) -> NodeConfig:
    return NodeConfig(node_id=code, tier=Tier.TOWNSHIP, database=workdir / f"{code}.db",
                      broker_url=broker, identity_key=SALT, data_key=new_key(),
                      require_user_id=False, identity_cost="test", declare_topology=True,
                      escalations_per_hour=per_hour)


def escalation(village: str, number: int, hub: str) -> tuple[bytes, dict[str, str]]:
    """One valid escalation of a new case (invented parties) from `village`, sealed to `hub`
    and signed as the village's relay would send it: (body, headers)."""
    now = datetime.now(UTC)
    party = Party(role="applicant", name="示例甲", party_hash=secrets.token_hex(32))
    payload = CaseEscalated(origin_node=village, from_tier=Tier.VILLAGE, dispute_type="02",
                            facts=FACTS, parties=(party,), people_involved=2,
                            reason=EscalationReason.NO_AGREEMENT, consent=True,
                            registered_at=now)
    keys = KEYS.node_keys(village)
    env = make_envelope(payload, sender=village, case_id=f"{village}-2026-{number:05d}", seq=3,
                        prev_seq=0, sent_at=now)
    body = encode(Sealer(keys).seal(env, hub))
    return body, Signer(keys, hub).headers(body, EXCHANGE_UP, node_key(village))


def publish(url: str, village: str, messages: list[tuple[bytes, dict[str, str]]]) -> None:
    """Publish as a flooding client would, back to back (persistent, no waiting for confirms),
    on the village's own key; a declare at the end returns once the broker has read them all."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for body, headers in messages:
            props = pika.BasicProperties(delivery_mode=2, content_type="application/json",
                                         headers=headers)
            channel.basic_publish(EXCHANGE_UP, node_key(village), body, props)
        channel.exchange_declare(EXCHANGE_UP, passive=True)
    finally:
        connection.close()


def registered(db: Path, case_ids: list[str]) -> int:
    """How many of these cases the hub has registered (read-only; the hub keeps writing)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        marks = ",".join("?" * len(case_ids))
        return int(con.execute(f"SELECT count(*) FROM cases WHERE case_id IN ({marks})",  # noqa: S608
                               case_ids).fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet, or busy: not registered yet
        return 0
    finally:
        con.close()


def applied_from(db: Path, village: str) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return int(con.execute("SELECT count(*) FROM inbox WHERE sender = ?",
                               [village]).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def wait_for(check: Callable[[], bool], timeout: float) -> float | None:
    """Poll `check` until true; the (monotonic) time it became true, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(POLL_S)
    return None


def run(url: str, flood: int, timeout: float, per_hour: int) -> dict[str, object]:
    county = f"{secrets.randbelow(90) + 10:02d}"
    township = f"3396{county}101000"
    flooder, legit = f"3396{county}101201", f"3396{county}101202"
    workdir = Path(tempfile.mkdtemp(prefix="fengqiao-flood-"))
    config = hub_config(township, workdir, url, per_hour)
    (workdir / "hub.json").write_text(config.model_dump_json(), encoding="utf-8")
    (workdir / "children.json").write_text(json.dumps([flooder, legit]), encoding="utf-8")
    for node in (township, flooder, legit):
        KEYS.pair(node)
    hub = subprocess.Popen([sys.executable, "-m", "bench.flood", "--hub", str(workdir)],  # noqa: S603
                           stdin=subprocess.DEVNULL, stderr=(workdir / "hub.log").open("wb"))
    db = config.database
    try:
        # The hub's queue exists once its consumer has declared it; then a warm-up escalation.
        if wait_for(lambda: _queue_exists(url, node_queue_name(township)), 60.0) is None:
            raise RuntimeError("the hub did not declare its queue")
        # The queue may exist a moment before its bindings, and a publish then goes nowhere: the
        # same warm-up message goes again every few seconds (a repeat is only a duplicate).
        warm_up = [escalation(legit, 1, township)]
        for _ in range(12):
            publish(url, legit, warm_up)
            if wait_for(lambda: registered(db, [f"{legit}-2026-00001"]) == 1, 5.0) is not None:
                break
        else:
            raise RuntimeError("the hub did not start: " + _tail(workdir / "hub.log"))
        bodies = [escalation(flooder, n, township) for n in range(1, flood + 1)]
        began = time.monotonic()
        publish(url, flooder, bodies)
        flooded = time.monotonic()
        publish(url, legit, [escalation(legit, 2, township)])
        sent = time.monotonic()
        got = wait_for(lambda: registered(db, [f"{legit}-2026-00002"]) == 1, timeout)
        done = wait_for(lambda: applied_from(db, flooder) >= flood, timeout)
        return {"flood": flood, "escalations_per_hour": per_hour,
                "flood_publish_s": round(flooded - began, 2),
                "legit_delay_s": None if got is None else round(got - sent, 2),
                "flood_applied_after_s": None if done is None else round(done - began, 2)}
    finally:
        hub.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            hub.wait(60)
        _delete_queue(url, node_queue_name(township))
        shutil.rmtree(workdir, ignore_errors=True)


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-2000:] if log.exists() else ""


def _queue_exists(url: str, name: str) -> bool:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        connection.channel().queue_declare(name, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def _delete_queue(url: str, name: str) -> None:
    with contextlib.suppress(Exception):
        connection = pika.BlockingConnection(pika.URLParameters(url))
        try:
            connection.channel().queue_delete(name)
        finally:
            connection.close()


def hub_main(workdir: Path) -> None:
    config = NodeConfig.model_validate_json((workdir / "hub.json").read_text(encoding="utf-8"))
    for child in json.loads((workdir / "children.json").read_text(encoding="utf-8")):
        KEYS.pair(child)  # listed in this process's directory, as keys.json lists them
    configure(service=True)  # as `hub run` does (INFO unless FENGQIAO_LOG_LEVEL says otherwise)
    serve(NodeRuntime(config, lambda: bootstrap(config, keyring=KEYS)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--flood", type=int, default=20_000)
    parser.add_argument("--timeout", type=float, default=600.0)
    # The hub's limit per child: the default paces; 1000000 never does (the "before" figure).
    parser.add_argument("--per-hour", type=int, default=ESCALATIONS_PER_HOUR)
    parser.add_argument("--hub", type=Path, help=argparse.SUPPRESS)  # the child's role
    args = parser.parse_args(argv)
    if args.hub is not None:
        hub_main(args.hub)
        return
    print(json.dumps(run(args.broker, args.flood, args.timeout, args.per_hour)))


if __name__ == "__main__":
    main()
