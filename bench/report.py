"""The bench's figures as a short table for people (`--json` gives the same as data)."""

from __future__ import annotations

from typing import Any

from nodes.cli.table import render as table

_ROWS = (  # key, Chinese label, English label, unit
    ("raw_msgs_per_s", "裸消息服务器", "raw broker (pika)", "msg/s"),
    ("pipeline_cases_per_s", "上报链路", "escalation pipeline", "cases/s"),
    ("pipeline_ratio", "链路/裸", "pipeline / raw", ""),
    ("floor_cases_per_s", "提交下限（仅村端落盘）", "commit floor (village fsyncs only)", "cases/s"),
    ("floor_ratio", "下限/裸", "floor / raw", ""),
    ("plain_cases_per_s", "朴素链路（无节点逻辑）", "plain pipeline (no node logic)", "cases/s"),
    ("plain_ratio", "朴素/裸", "plain / raw", ""),
    ("pipeline_vs_plain", "链路/朴素", "pipeline / plain", ""),
    ("latency_rate_cases_per_s", "半负载速率", "half-load rate", "cases/s"),
    ("latency_p50_ms", "上报时延 p50", "escalation latency p50", "ms"),
    ("latency_p99_ms", "上报时延 p99", "escalation latency p99", "ms"),
    ("latency_to_hub_p99_ms", "其中送达乡镇 p99", "of it, reaching the hub, p99", "ms"),
    ("latency_in_hub_p99_ms", "其中乡镇处理落盘 p99", "of it, applied at the hub, p99", "ms"),
    ("drain_cases_per_s", "断网积压清空（至乡镇落盘）", "drain after reconnect (to the hub's commit)",
     "cases/s"),
    ("drain_ratio", "清空/裸", "drain / raw", ""),
    ("drain_relay_cases_per_s", "村端发件箱清空（消息服务器已确认）",
     "village outbox emptied (broker confirmed)", "cases/s"),
    ("drain_relay_ratio", "发件箱清空/裸", "outbox drain / raw", ""),
    ("node_peak_rss_mb", "村节点峰值内存", "village node peak RSS", "MB"),
    ("local_cases_per_s", "本地登记", "node-local recording", "cases/s"),
    ("bare_sqlite_per_s", "裸 sqlite3", "bare sqlite3", "rows/s"),
    ("local_ratio", "本地/裸", "node-local / bare", ""),
    ("bare_ms_per_case", "裸 sqlite3 每条耗时（主要是 fsync）", "bare sqlite3 time per row (mostly fsync)",
     "ms"),
    ("local_cpu_ms_per_case", "本地登记每案 CPU", "node-local CPU per case", "ms"),
)


def render(result: dict[str, Any], lang: str) -> str:
    zh = lang == "zh"
    targets = result["targets"]
    rows = []
    for key, label_zh, label_en, unit in _ROWS:
        check = targets.get(key)
        verdict = ""
        if check is not None:
            met = ("达标" if zh else "met") if check["met"] else ("未达标" if zh else "MISSED")
            verdict = f"{'目标' if zh else 'target'} {check['target']}  {met}"
        rows.append([label_zh if zh else label_en, f"{result[key]:>10}", unit, verdict])
    lines = [table([("项目" if zh else "figure"), ("数值" if zh else "value").rjust(10),
                    "", ("目标" if zh else "target")], rows)]
    rss = ", ".join(f"{name} {mb}" for name, mb in result["rss_mb"].items())
    lines.append(("各进程峰值内存（MB）：" if zh else "peak RSS per process (MB): ") + rss)
    steal = result["machine_steal_pct"]
    busy = ", ".join(f"{phase} {pct}%" + (f" (+{steal[phase]}%)" if steal.get(phase) else "")
                     for phase, pct in result["machine_busy_pct"].items())
    lines.append(("各阶段整机繁忙度（括号内为被宿主机占用）：" if zh
                  else "machine busy per phase (in brackets: taken by the hypervisor): ") + busy)
    if result["broker_cpu_ms"]:
        share = ", ".join(f"{k} {v}" for k, v in result["broker_cpu_ms"].items())
        lines.append(("消息服务器 CPU（毫秒）：" if zh else "broker CPU (ms): ") + share)
    host = result["machine"]
    lines.append(("用时 " if zh else "took ") + f"{result['seconds']} s; "
                 + ("机器 " if zh else "machine ") + f"{host['cpus']} CPU ({host['processor']}), "
                 + f"{host['platform']}; "
                 + ("开始前 CPU 占用 " if zh else "CPU busy before start ")
                 + f"{host['cpu_busy_before_pct']}%"
                 + (f" (+{host['cpu_steal_before_pct']}%)" if host["cpu_steal_before_pct"] else "")
                 + f", load {host['load_avg_1m']}")
    if result["queues_left"]:
        lines.append(("未能删除的队列：" if zh else "queues NOT deleted: ")
                     + ", ".join(result["queues_left"]))
    return "\n".join(lines)
