"""The bench's figures as a short table for people (`--json` gives the same as data)."""

from __future__ import annotations

from typing import Any

from nodes.cli.table import render as table
from nodes.i18n import N_, t

_ROWS = (  # key, name (a catalogue message id), unit
    ("raw_msgs_per_s", N_("raw broker (pika)"), "msg/s"),
    ("pipeline_cases_per_s", N_("escalation pipeline"), "cases/s"),
    ("pipeline_ratio", N_("pipeline / raw"), ""),
    ("floor_cases_per_s", N_("commit floor (village fsyncs only)"), "cases/s"),
    ("floor_ratio", N_("floor / raw"), ""),
    ("plain_cases_per_s", N_("plain pipeline (no node logic)"), "cases/s"),
    ("plain_ratio", N_("plain / raw"), ""),
    ("pipeline_vs_plain", N_("pipeline / plain"), ""),
    ("latency_rate_cases_per_s", N_("half-load rate"), "cases/s"),
    ("latency_p50_ms", N_("escalation latency p50"), "ms"),
    ("latency_p99_ms", N_("escalation latency p99"), "ms"),
    ("latency_to_hub_p99_ms", N_("of it, reaching the hub, p99"), "ms"),
    ("latency_in_hub_p99_ms", N_("of it, applied at the hub, p99"), "ms"),
    ("drain_cases_per_s", N_("drain after reconnect (to the hub's commit)"), "cases/s"),
    ("drain_ratio", N_("drain / raw"), ""),
    ("drain_relay_cases_per_s", N_("village outbox emptied (broker confirmed)"), "cases/s"),
    ("drain_relay_ratio", N_("outbox drain / raw"), ""),
    ("node_peak_rss_mb", N_("village node peak RSS"), "MB"),
    ("local_cases_per_s", N_("node-local recording"), "cases/s"),
    ("bare_sqlite_per_s", N_("bare sqlite3"), "rows/s"),
    ("local_ratio", N_("node-local / bare"), ""),
    ("bare_ms_per_case", N_("bare sqlite3 time per row (mostly fsync)"), "ms"),
    ("local_cpu_ms_per_case", N_("node-local CPU per case"), "ms"),
    ("identity_hash_ms", N_("party hash at the standard cost (Argon2id)"), "ms"),
    ("identity_reverse_cpu_days", N_("CPU days to hash one county's 25.2 million candidate ID "
                                     "numbers"), "d"),
)


def render(result: dict[str, Any], lang: str | None = None) -> str:
    targets = result["targets"]
    rows = []
    for key, name, unit in _ROWS:
        check = targets.get(key)
        verdict = ""
        if check is not None:
            met = t(N_("met"), lang) if check["met"] else t(N_("MISSED"), lang)
            verdict = f"{t(N_('target'), lang)} {check['target']}  {met}"
        rows.append([t(name, lang), f"{result[key]:>10}", unit, verdict])
    lines = [table([t(N_("figure"), lang), t(N_("value"), lang).rjust(10), "",
                    t(N_("target"), lang)], rows)]
    rss = ", ".join(f"{name} {mb}" for name, mb in result["rss_mb"].items())
    lines.append(t(N_("peak RSS per process (MB): {figures}"), lang, figures=rss))
    steal = result["machine_steal_pct"]
    busy = ", ".join(f"{phase} {pct}%" + (f" (+{steal[phase]}%)" if steal.get(phase) else "")
                     for phase, pct in result["machine_busy_pct"].items())
    lines.append(t(N_("machine busy per phase (in brackets: taken by the hypervisor): "
                      "{figures}"), lang, figures=busy))
    if result["broker_cpu_ms"]:
        share = ", ".join(f"{k} {v}" for k, v in result["broker_cpu_ms"].items())
        lines.append(t(N_("broker CPU (ms): {figures}"), lang, figures=share))
    host = result["machine"]
    steal_before = f" (+{host['cpu_steal_before_pct']}%)" if host["cpu_steal_before_pct"] else ""
    lines.append(t(N_("took {seconds} s; machine {cpus} CPU ({processor}), {platform}; CPU busy "
                      "before start {busy}%{steal}, load {load}"), lang,
                   seconds=result["seconds"], cpus=host["cpus"], processor=host["processor"],
                   platform=host["platform"], busy=host["cpu_busy_before_pct"],
                   steal=steal_before, load=host["load_avg_1m"]))
    if result["queues_left"]:
        lines.append(t(N_("queues NOT deleted: {queues}"), lang,
                       queues=", ".join(result["queues_left"])))
    return "\n".join(lines)
