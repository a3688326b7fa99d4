"""A child process of the bench: one village node, the township hub, or a raw pika client.

The village and the hub are the production runtime (`NodeRuntime`: relay and consumer threads,
each with its own SQLite connection and broker connection) built from a `NodeConfig`, exactly as
`fengqiao node run` / `hub run` build them. The bench adds only its clocks: a village stamps each
escalation when `CaseService.act` returns (its transaction has committed), the hub stamps each
escalation it applied once the consumer's transaction has committed (`after_commit`), and also
when its consumer began applying it, which splits each latency into the way to the hub and the
hub's own part.

A `bare` child is the commit floor's stand-in for a village: plain sqlite3, no node code. The
`plain-village` and `plain-hub` children are the plain pipeline (`bench.plain`).

Usage (by the driver only): python -m bench.worker ROLE ...
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench import plain, raw
from bench.bare import bare_loop
from bench.procs import commands, cpu_seconds, emit, peak_rss_mb, thread_cpu_seconds
from bench.settings import OUTBOX_POLL_S, READY_TIMEOUT_S, STOP_TIMEOUT_S
from fengqiao.bootstrap import bootstrap
from nodes.config import NodeConfig
from nodes.crypto import new_key
from nodes.domain import commands as case_commands
from nodes.keyring import LocalKeyring
from nodes.logs import configure
from nodes.messaging.runtime import NodeRuntime
from nodes.node import Node
from nodes.service import PartyInput
from protocol.areas import Tier
from protocol.envelope import Envelope
from protocol.reference import CaseSource, EscalationReason

SALT = "bench-identity-key-not-a-secret"
# The bench's processes (villages, hub) must agree on every node's message keys: derived from a
# seed, so each process makes the same ones (invented data only: the seed is no secret).
KEYS = LocalKeyring.derived(SALT)
# Invented parties (sample data): the escalation dossier carries them to the hub, as in production.
PARTIES = (PartyInput("applicant", "示例甲", id_number="33980119800101123X", phone="13800000000",
                      address="示例村 1 号"),
           PartyInput("respondent", "示例乙", phone="0575-87654321", address="示例村 2 号"))
FACTS = "（压测示例）两户因宅基地边界发生争执，村调委会调解未成，经当事人同意上报乡镇。"


def _config(code: str, tier: Tier, workdir: Path, broker: str) -> NodeConfig:
    """A node's config as `node init` writes it, with its own fresh data key."""
    # The bench connects as one shared user (guest), so user ids cannot name the sender.
    # Its parties are invented: the cheap party hash ("test") keeps the pipeline figures about
    # the pipeline; the standard hash's cost is measured on its own (bench.identity_cost).
    return NodeConfig(node_id=code, tier=tier, database=workdir / f"{code}.db",
                      broker_url=broker, identity_key=SALT, data_key=new_key(),
                      require_user_id=False, identity_cost="test",
                      declare_topology=True,  # the shared bench broker has no `deploy apply`
                      # The drain phase sends one village's 10,000-case backlog at once: the
                      # figure is the pipeline's, not the hub's flood pacing (bench.flood's).
                      escalations_per_hour=1_000_000)


def _escalate(case: Any, actor: Any, at: Any) -> None:
    case_commands.escalate(case, actor, at, reason=EscalationReason.CROSS_AREA, consent_given=True)


def record(staff: Node, wake: threading.Event, count: int, rate: float | None,
           start_at: float) -> dict[str, float]:
    """Record and escalate `count` cases (two transactions each, as a mediator would), paced at
    `rate` per second if given (open loop: a late case is not skipped), else flat out."""
    commits: dict[str, float] = {}
    time.sleep(max(0.0, start_at - time.monotonic()))
    for k in range(count):
        if rate:
            time.sleep(max(0.0, start_at + k / rate - time.monotonic()))
        case = staff.service.new_case(source=CaseSource.APPLICATION, dispute_type="03",
                                      facts=FACTS, parties=PARTIES)
        staff.service.act(case.case_id, _escalate)
        commits[case.case_id] = time.monotonic()
        wake.set()  # an in-process writer tells the relay at once (see NodeRuntime.wake)
    return commits


def village(code: str, workdir: Path, broker: str, live: bool) -> None:
    config = _config(code, Tier.VILLAGE, workdir, broker)
    runtime = NodeRuntime(config, partial(bootstrap, config, keyring=KEYS))
    runtime.start()
    staff = bootstrap(config, keyring=KEYS)
    if live and not runtime.ready.wait(READY_TIMEOUT_S):
        emit("error", error="village runtime did not declare its queue")
        return
    emit("started", threads=thread_cpu_seconds())
    for cmd in commands():
        if cmd["cmd"] == "record":
            commits = record(staff, runtime.wake, cmd["count"], cmd.get("rate"), cmd["start_at"])
            emit("recorded", commits=commits, depth=staff.store.outbox_depth(), cpu_s=cpu_seconds(),
                 threads=thread_cpu_seconds())
        elif cmd["cmd"] == "reconnect":  # the relay was pointed at a dead port; now the broker
            runtime.stop(STOP_TIMEOUT_S)
            online = config.model_copy(update={"broker_url": cmd["broker"]})
            runtime = NodeRuntime(online, partial(bootstrap, online, keyring=KEYS))
            at = time.monotonic()
            runtime.start()
            emit("reconnected", at=at)
        elif cmd["cmd"] == "wait_outbox_empty":
            deadline = time.monotonic() + cmd["timeout"]
            while (depth := staff.store.outbox_depth()) and time.monotonic() < deadline:
                time.sleep(OUTBOX_POLL_S)
            emit("outbox_empty", at=time.monotonic(), depth=depth)
        elif cmd["cmd"] == "stop":
            break
    runtime.stop(STOP_TIMEOUT_S)
    staff.close()
    emit("stopped", rss_mb=peak_rss_mb(), cpu_s=cpu_seconds())


def _reached(commits: dict[str, float], total: int) -> bool:
    return len(commits) >= total


def hub(code: str, workdir: Path, broker: str) -> None:
    commits: dict[str, float] = {}
    picked: dict[str, float] = {}  # when the consumer began applying each escalation
    pending: list[str] = []  # applied in the consumer's open transaction, not yet committed
    committed = threading.Condition()  # the driver's wait is woken by commits, not by polling

    config = _config(code, Tier.TOWNSHIP, workdir, broker)

    def build() -> Node:
        """The production node, its intake wrapped in the bench's clocks."""
        node = bootstrap(config, keyring=KEYS)
        intake = node.consumer.handlers["case_escalated"]

        def on_escalated(env: Envelope) -> None:
            began = time.monotonic()
            intake(env)
            case_id = env.case_id or ""
            picked.setdefault(case_id, began)
            pending.append(case_id)
        node.consumer.handlers = {**node.consumer.handlers, "case_escalated": on_escalated}
        return node

    def after_commit() -> None:  # consumer thread, right after its transaction committed
        if pending:
            now = time.monotonic()
            with committed:
                for case_id in pending:
                    commits.setdefault(case_id, now)
                committed.notify_all()
            pending.clear()

    runtime = NodeRuntime(config, build, after_commit=after_commit)
    runtime.start()
    if not runtime.ready.wait(READY_TIMEOUT_S):
        emit("error", error="hub runtime did not declare its queue")
        return
    emit("started", threads=thread_cpu_seconds())
    reported: set[str] = set()
    for cmd in commands():
        if cmd["cmd"] == "wait_applied":  # until this many escalations in all have committed
            with committed:
                committed.wait_for(functools.partial(_reached, commits, cmd["total"]),
                                   cmd["timeout"])
                snapshot = dict(commits)
            fresh = {k: v for k, v in snapshot.items() if k not in reported}
            reported.update(fresh)
            emit("applied", commits=fresh, picked={k: picked[k] for k in fresh},
                 total=len(snapshot), cpu_s=cpu_seconds(),
                 threads=thread_cpu_seconds())
        elif cmd["cmd"] == "stop":
            break
    runtime.stop(STOP_TIMEOUT_S)
    emit("stopped", rss_mb=peak_rss_mb(), cpu_s=cpu_seconds())


def bare(code: str, workdir: Path, count: int) -> None:
    """The commit floor's child: wait for `go`, then `count` bare sqlite3 transactions (one
    1 KiB row, one fsync each) in this village's own file, side by side with the other villages'."""
    go = next(commands())
    time.sleep(max(0.0, go["start_at"] - time.monotonic()))
    start, cpu = time.monotonic(), time.process_time()
    bare_loop(workdir / f"{code}-floor.db", count)
    emit("committed", start=start, end=time.monotonic(), loop_cpu_s=time.process_time() - cpu,
         cpu_s=cpu_seconds(), rss_mb=peak_rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=["village", "hub", "bare", "plain-village", "plain-hub",
                                         "raw-publisher", "raw-consumer"])
    parser.add_argument("--code")
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--broker", help="every role but bare (the floor touches no broker)")
    parser.add_argument("--offline", action="store_true", help="village: broker unreachable")
    parser.add_argument("--queue")
    parser.add_argument("--sink", help="plain: the queue reports go to")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--in-flight", type=int, default=100)
    args = parser.parse_args()
    if args.role != "bare" and not args.broker:
        parser.error(f"--broker is required for the {args.role} role")
    configure(service=True)  # the driver sets FENGQIAO_LOG_LEVEL (WARNING unless the user chose)
    if args.role == "village":
        village(args.code, args.dir, args.broker, live=not args.offline)
    elif args.role == "hub":
        hub(args.code, args.dir, args.broker)
    elif args.role == "bare":
        bare(args.code, args.dir, args.count)
    elif args.role == "plain-village":
        plain.village(args.code, args.dir, args.broker, args.queue, args.sink, args.count)
    elif args.role == "plain-hub":
        plain.hub(args.dir, args.broker, args.queue, args.sink, args.count)
    elif args.role == "raw-publisher":
        raw.publisher(args.broker, args.queue, args.count, args.size, args.in_flight)
    else:
        raw.consumer(args.broker, args.queue, args.count)


if __name__ == "__main__":
    main()
