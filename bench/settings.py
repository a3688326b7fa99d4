"""The bench's workload and targets, in one place (issue 5).

The default workload is sized so that each phase runs for several seconds on a 2-core machine:
long enough that start-up and the last straggler are a small part of the figure, short enough that
the whole bench finishes in a couple of minutes. `fengqiao bench` flags override the sizes.
"""

from __future__ import annotations

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/%2F"

# Raw baseline: pika, 1 KiB persistent messages, ~100 unconfirmed in flight, one quorum queue.
RAW_MESSAGES = 20_000
RAW_BODY_BYTES = 1024
RAW_IN_FLIGHT = 100
RAW_PREFETCH = 100

# Pipeline: village processes recording and escalating cases to one township hub process.
VILLAGES = 3
PIPELINE_CASES = 6_000          # in total, split evenly over the villages
LATENCY_SECONDS = 8.0           # how long the half-load run lasts
LATENCY_LOAD = 0.5              # fraction of the measured maximum rate used for latency
# Commit floor: a village makes two durable commits per case in the pipeline (the mediator's
# `new_case`, then `act(escalate)`: two acts, each saved before it returns).
VILLAGE_COMMITS_PER_CASE = 2

# Drain: escalations queued in one village's outbox while the broker is unreachable.
DRAIN_CASES = 10_000

# Node-local: cases recorded through CaseService.new_case against a bare sqlite3 loop.
LOCAL_CASES = 500               # per round and side
# Bare and node loops alternate, to share the disk's moods fairly. This disk's fsync time drifts
# by 2x within a minute, so more, shorter rounds (the ratio is of the totals; each round's own
# ratio is reported too, to show the spread).
LOCAL_ROUNDS = 4

# Guards: no wait of the driver is unbounded (a stuck child is a failed bench, not a hang).
READY_TIMEOUT_S = 60.0
PHASE_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 60.0
OUTBOX_POLL_S = 0.05            # how often a draining village looks at its outbox depth

# Targets on a 2-core machine (issue 5 §3).
TARGET_PIPELINE_RATIO = 0.5
TARGET_DRAIN_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_NODE_RSS_MB = 80.0
TARGET_LOCAL_RATIO = 0.5
