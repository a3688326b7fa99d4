"""One bench run: raw baseline, commit floor, plain pipeline, pipeline (throughput, then latency
at half load), drain, node-local.

The phases run one after another, never side by side, so each has the machine (2 cores shared
with RabbitMQ) to itself. Pipeline and drain share one hub process, whose peak RSS therefore
covers both. Every wait on a child is bounded; whatever happens, the children are stopped and the
bench's queues deleted (`Topology.tear_down`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import identity_cost, local, settings
from bench.figures import broker_share, dead_url, percentile, ratios, safe_url, targets
from bench.machine import machine
from bench.meter import Meter
from bench.procs import Child, ChildError, peak_rss_mb
from bench.raw import declare_queue
from bench.topology import Topology
from nodes.store.peek import peek

START_DELAY_S = 0.5  # children get their go a little ahead, so all start on the same tick


@dataclass(frozen=True)
class Workload:
    raw_messages: int = settings.RAW_MESSAGES
    villages: int = settings.VILLAGES
    pipeline_cases: int = settings.PIPELINE_CASES
    latency_seconds: float = settings.LATENCY_SECONDS
    drain_cases: int = settings.DRAIN_CASES
    local_cases: int = settings.LOCAL_CASES


class Run:
    def __init__(self, url: str, work: Workload, workdir: Path) -> None:
        self.url, self.work, self.workdir = url, work, workdir
        self.topo = Topology(url, work.villages)
        self.meter = Meter(url)
        self.children: list[Child] = []
        self.rss: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # CPU seconds each child used, all phases it lived through
        # Each node's CPU seconds by thread, cumulative, at the end of each phase it took part in.
        self.threads: dict[str, list[dict[str, float]]] = {}
        self.threads_at_start: dict[str, dict[str, float]] = {}  # once ready, before any work
        self.applied_total = 0
        self.picked: dict[str, float] = {}  # case id -> when the hub's consumer began applying it

    @property
    def per_village(self) -> int:
        """Cases each village records flat out; the floor and the plain pipeline use the same."""
        return max(1, self.work.pipeline_cases // self.work.villages)

    def child(self, name: str, *args: str) -> Child:
        child = Child(name, list(args), self.workdir)
        self.children.append(child)
        return child

    def node(self, name: str, role: str, code: str, url: str, *extra: str) -> Child:
        child = self.child(name, role, "--code", code, "--dir", str(self.workdir), "--broker", url,
                           *extra)
        self.threads_at_start[name] = child.expect("started", settings.READY_TIMEOUT_S)["threads"]
        return child

    def stop(self, child: Child) -> None:
        child.send("stop")
        answer = child.expect("stopped", settings.STOP_TIMEOUT_S)
        self.rss[child.name], self.cpu[child.name] = answer["rss_mb"], answer["cpu_s"]

    def raw(self) -> dict[str, Any]:
        count, queue = self.work.raw_messages, self.topo.raw_queue
        declare_queue(self.url, queue)
        consumer = self.child("raw-consumer", "raw-consumer", "--broker", self.url, "--queue",
                              queue, "--count", str(count))
        consumer.expect("ready", settings.READY_TIMEOUT_S)
        publisher = self.child("raw-publisher", "raw-publisher", "--broker", self.url, "--queue",
                               queue, "--count", str(count), "--size",
                               str(settings.RAW_BODY_BYTES), "--in-flight",
                               str(settings.RAW_IN_FLIGHT))
        start_at = time.monotonic() + START_DELAY_S
        publisher.send("go", start_at=start_at)
        self.meter.start("raw", at=start_at)
        pub = publisher.expect("published", settings.PHASE_TIMEOUT_S)
        con = consumer.expect("consumed", settings.PHASE_TIMEOUT_S)
        self.meter.stop("raw")
        if pub["nacked"]:
            raise ChildError(f"the broker nacked {pub['nacked']} raw messages")
        self.rss.update({"raw-publisher": pub["rss_mb"], "raw-consumer": con["rss_mb"]})
        self.cpu.update({"raw-publisher": pub["cpu_s"], "raw-consumer": con["cpu_s"]})
        return {"raw_msgs_per_s": round(count / (con["last"] - pub["start"]), 1),
                "raw_publish_per_s": round(count / (pub["end"] - pub["start"]), 1)}

    def floor(self) -> dict[str, Any]:
        """The commit floor: what the villages' own durable commits allow when nothing else runs.

        One bare sqlite3 process per village, side by side, each making the fsync'd commits its
        village makes for the pipeline's cases (`VILLAGE_COMMITS_PER_CASE`: `new_case`, then
        `act`), one 1 KiB row each, with no node code, no broker and no hub. No pipeline built
        on these files can go faster on this disk and these cores, so `floor_ratio` (against raw,
        same run) bounds what `pipeline_ratio` can reach here."""
        per_village = self.per_village
        commits = per_village * settings.VILLAGE_COMMITS_PER_CASE
        bares = [self.child(f"bare-{i + 1}", "bare", "--code", code, "--dir", str(self.workdir),
                            "--count", str(commits))
                 for i, code in enumerate(self.topo.villages)]
        start_at = time.monotonic() + START_DELAY_S
        for bare in bares:
            bare.send("go", start_at=start_at)
        self.meter.start("floor", at=start_at)
        answers = [bare.expect("committed", settings.PHASE_TIMEOUT_S) for bare in bares]
        self.meter.stop("floor")
        for bare, answer in zip(bares, answers, strict=True):
            self.rss[bare.name], self.cpu[bare.name] = answer["rss_mb"], answer["cpu_s"]
        cases = per_village * len(bares)
        loop_cpu_s = sum(a["loop_cpu_s"] for a in answers)
        return {"floor_cases_per_s": round(cases / (max(a["end"] for a in answers) - start_at), 1),
                "floor_cpu_ms_per_case": round(loop_cpu_s / cases * 1000, 3)}

    def plain(self) -> dict[str, Any]:
        """The plain pipeline (`bench.plain`): the same cases, files, commits and broker messages
        with none of a node's own work; `pipeline_vs_plain` is what that work costs."""
        per_village = self.per_village
        total = per_village * self.work.villages
        common = ["--dir", str(self.workdir), "--broker", self.url,
                  "--queue", self.topo.plain_queue, "--sink", self.topo.sink_queue]
        hub = self.child("plain-hub", "plain-hub", *common, "--count", str(total))
        hub.expect("ready", settings.READY_TIMEOUT_S)
        villages = [self.child(f"plain-village-{i + 1}", "plain-village", "--code", code, *common,
                               "--count", str(per_village))
                    for i, code in enumerate(self.topo.villages)]
        for village in villages:
            village.expect("ready", settings.READY_TIMEOUT_S)
        start_at = time.monotonic() + START_DELAY_S
        for village in villages:
            village.send("go", start_at=start_at)
        self.meter.start("plain", at=start_at)
        spent = sum(v.expect("done", settings.PHASE_TIMEOUT_S)["cpu_s"] for v in villages)
        applied = hub.expect("applied", settings.PHASE_TIMEOUT_S)
        self.meter.stop("plain")
        self.topo.purge_sink()
        return {"plain_cases_per_s": round(total / (applied["last"] - start_at), 1),
                "plain_cpu_ms_per_case": round((spent + applied["cpu_s"]) / total * 1000, 3),
                "plain_hub_cpu_ms_per_case": round(applied["cpu_s"] / total * 1000, 3)}

    def record(self, villages: list[Child], per_village: int, rate: float | None,
               start_at: float, phase: str) -> dict[str, float]:
        """Let every village record and escalate; returns case id -> village commit time."""
        for i, village in enumerate(villages):
            stagger = i / rate if rate else 0.0  # paced villages take turns, not bursts
            village.send("record", count=per_village, rate=rate / len(villages) if rate else None,
                         start_at=start_at + stagger)
        self.meter.start(phase, at=start_at)
        commits: dict[str, float] = {}
        for village in villages:
            answer = village.expect("recorded", settings.PHASE_TIMEOUT_S)
            commits.update(answer["commits"])
            self.threads.setdefault(village.name, []).append(answer.get("threads", {}))
        return commits

    def settle(self, codes: list[str]) -> None:
        """Wait (bounded) until these nodes' outboxes are empty, so that a phase does not start
        while the previous one's tail (the hub's reports, say) is still being published."""
        deadline = time.monotonic() + settings.PHASE_TIMEOUT_S
        while any(peek(self.workdir / f"{code}.db").unsent for code in codes):
            if time.monotonic() > deadline:
                raise ChildError(f"outboxes of {codes} not empty after {settings.PHASE_TIMEOUT_S} s")
            time.sleep(settings.OUTBOX_POLL_S)

    def applied(self, hub: Child, count: int) -> dict[str, float]:
        """Wait until the hub has committed `count` more escalations; their hub commit times."""
        self.applied_total += count
        hub.send("wait_applied", total=self.applied_total, timeout=settings.PHASE_TIMEOUT_S)
        answer = hub.expect("applied", settings.PHASE_TIMEOUT_S + 10)
        self.threads.setdefault(hub.name, []).append(answer.get("threads", {}))
        if answer["total"] < self.applied_total:
            raise ChildError(f"hub applied {answer['total']} of {self.applied_total} escalations")
        self.picked.update(answer["picked"])
        return dict(answer["commits"])

    def pipeline(self, hub: Child) -> dict[str, Any]:
        villages = [self.node(f"village-{i + 1}", "village", code, self.url)
                    for i, code in enumerate(self.topo.villages)]
        per_village = self.per_village
        start = time.monotonic() + START_DELAY_S
        recorded = self.record(villages, per_village, None, start, "flat_out")
        at_hub = self.applied(hub, len(recorded))
        self.meter.stop("flat_out")
        flat_out = len(recorded)
        cases_per_s = flat_out / (max(at_hub.values()) - start)
        # Which side bounds the flat-out rate: the villages' recording, or what follows it.
        recorded_s, applied_s = max(recorded.values()) - start, max(at_hub.values()) - start
        self.settle([self.topo.township, *self.topo.villages])
        self.topo.purge_sink()

        rate = settings.LATENCY_LOAD * cases_per_s
        per_village = max(1, round(rate * self.work.latency_seconds / len(villages)))
        recorded = self.record(villages, per_village, rate, time.monotonic() + START_DELAY_S,
                               "half_load")
        at_hub = self.applied(hub, len(recorded))
        self.meter.stop("half_load")
        latencies = [(at_hub[case] - at) * 1000 for case, at in recorded.items()]
        # Each latency in two parts: to the hub (the village's relay, the broker, the delivery,
        # and the batch's earlier parts ahead of it), then in the hub (the rest of its batch and
        # the commit). Every case's (village commit, latency ms, to-the-hub ms), for a look at
        # when the slow ones happened and which part they were slow in.
        to_hub = {case: (self.picked[case] - at) * 1000 for case, at in recorded.items()}
        in_hub = [(at_hub[case] - self.picked[case]) * 1000 for case in recorded]
        timeline = sorted((round(at, 4), round((at_hub[case] - at) * 1000, 2),
                           round(to_hub[case], 2)) for case, at in recorded.items())
        (self.workdir / "latencies.json").write_text(json.dumps(timeline), encoding="utf-8")
        self.settle([self.topo.township, *self.topo.villages])
        for village in villages:
            self.stop(village)
        self.topo.purge_sink()
        return {"pipeline_cases_per_s": round(cases_per_s, 1),
                "pipeline_recorded_s": round(recorded_s, 2),
                "pipeline_applied_s": round(applied_s, 2),
                "pipeline_cpu_ms_per_case": {
                    "flat_out": self.cpu_per_case(villages, hub, 0, flat_out),
                    "half_load": self.cpu_per_case(villages, hub, 1, len(latencies))},
                "pipeline_cases": flat_out,
                "latency_rate_cases_per_s": round(rate, 1),
                "latency_cases": len(latencies),
                "latency_p50_ms": round(percentile(latencies, 50), 2),
                "latency_p99_ms": round(percentile(latencies, 99), 2),
                "latency_max_ms": round(max(latencies), 2),
                "latency_to_hub_p50_ms": round(percentile(list(to_hub.values()), 50), 2),
                "latency_to_hub_p99_ms": round(percentile(list(to_hub.values()), 99), 2),
                "latency_in_hub_p50_ms": round(percentile(in_hub, 50), 2),
                "latency_in_hub_p99_ms": round(percentile(in_hub, 99), 2)}

    def cpu_per_case(self, villages: list[Child], hub: Child, phase: int,
                     cases: int) -> dict[str, float]:
        """CPU ms per case of each kind of thread in one pipeline phase (0 flat out, 1 half load),
        from the thread snapshots before and after it; process start-up is not counted."""
        spent: dict[str, float] = {}
        for child, role in [(v, "village") for v in villages] + [(hub, "hub")]:
            after = self.threads[child.name][phase]
            before = self.threads[child.name][phase - 1] if phase else \
                self.threads_at_start[child.name]
            # A hub's MainThread only answers the driver; a village's records the cases.
            threads = ("relay", "consumer") if role == "hub" else ("MainThread", "relay", "consumer")
            for thread in threads:
                key = f"{role}_{'recording' if thread == 'MainThread' else thread}"
                spent[key] = spent.get(key, 0.0) + after.get(thread, 0.0) - before.get(thread, 0.0)
        total = sum(spent.values())
        return {**{k: round(v / cases * 1000, 3) for k, v in spent.items()},
                "total": round(total / cases * 1000, 3)}

    def drain(self, hub: Child) -> dict[str, Any]:
        count = self.work.drain_cases
        village = self.node("village-drain", "village", self.topo.drain_village,
                            dead_url(self.url), "--offline")
        village.send("record", count=count, start_at=time.monotonic())
        queued = village.expect("recorded", settings.PHASE_TIMEOUT_S)["depth"]
        village.send("reconnect", broker=self.url)
        reconnected = village.expect("reconnected", settings.READY_TIMEOUT_S)["at"]
        self.meter.start("drain")
        village.send("wait_outbox_empty", timeout=settings.PHASE_TIMEOUT_S)
        empty = village.expect("outbox_empty", settings.PHASE_TIMEOUT_S + 10)
        at_hub = self.applied(hub, count)
        self.meter.stop("drain")
        self.stop(village)
        self.topo.purge_sink()
        # Two ends of the same drain: the headline counts until the hub has committed the last
        # escalation; the relay's end is when the village's outbox is empty (every row confirmed
        # by the broker and marked sent), the part of the drain the outbox itself governs.
        relay_s = empty["at"] - reconnected
        return {"drain_cases": count, "drain_outbox_rows": queued,
                "drain_cases_per_s": round(count / (max(at_hub.values()) - reconnected), 1),
                "drain_relay_s": round(relay_s, 2),
                "drain_relay_cases_per_s": round(count / relay_s, 1)}

    def execute(self) -> dict[str, Any]:
        figures: dict[str, Any] = {}
        self.topo.set_up()
        figures.update(self.raw())
        figures.update(self.floor())
        figures.update(self.plain())
        hub = self.node("hub", "hub", self.topo.township, self.url)
        figures.update(self.pipeline(hub))
        figures.update(self.drain(hub))
        self.stop(hub)
        figures.update(local.measure(self.topo.villages[0], self.workdir / "local",
                                     self.work.local_cases, settings.LOCAL_ROUNDS))
        figures.update(identity_cost.measure())  # the production party hash, on its own
        return figures


def run(url: str, work: Workload, keep: Path | None = None) -> dict[str, Any]:
    """The whole bench; the result holds every figure, the targets and whether each was met."""
    began = time.monotonic()
    host = machine()
    workdir = keep or Path(tempfile.mkdtemp(prefix="fengqiao-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    bench = Run(url, work, workdir)
    finished = False
    try:
        figures = bench.execute()
        finished = True
    finally:
        for child in bench.children:
            child.close(settings.STOP_TIMEOUT_S)
        left = bench.topo.tear_down()
        if keep is None and finished:  # after a failure the children's logs are kept
            shutil.rmtree(workdir, ignore_errors=True)
    villages = [mb for name, mb in bench.rss.items() if name.startswith("village")]
    figures.update(ratios(figures, host["cpus"] or 1))
    figures.update(
        node_peak_rss_mb=max(villages), rss_mb={**bench.rss, "driver": peak_rss_mb()},
        cpu_s=bench.cpu, threads_cpu_s=bench.threads,
        machine_busy_pct=bench.meter.busy_pct(),
        machine_steal_pct=bench.meter.steal_pct(),
        broker_cpu_ms=broker_share(bench.meter.broker_cpu_s(), figures, work))
    return {**figures, "targets": targets(figures), "workload": work.__dict__,
            "machine": host, "broker": safe_url(url),
            "broker_version": bench.topo.broker_version, "queues_left": left,
            "seconds": round(time.monotonic() - began, 1)}


