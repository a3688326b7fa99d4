"""Every reliability setting of the messaging layer, in one place (DESIGN §4)."""

from __future__ import annotations

CONNECT_TIMEOUT_S = 5.0       # a broker that does not answer in this long counts as gone
CONFIRM_TIMEOUT_S = 10.0      # a publish not confirmed in this long is retried later
HEARTBEAT_S = 30              # AMQP heartbeat: notice a dead TCP link without traffic
PREFETCH = 100                # unacked deliveries a consumer may hold
PUBLISH_WINDOW = 100          # messages a relay may have written and not yet seen confirmed
RELAY_BATCH = 200             # outbox rows read, published and marked sent per round
# Confirmed rows are marked sent in the file at most this long after their confirm, or as soon as
# this many wait (one fsync for many turns; a crash only makes them go again, see relay.py).
MARK_EVERY_S = 0.25
MARK_BATCH = 2000
# The marks' write does not wait for the write lock while another thread or process holds it
# (SQLite's busy handler sleeps in coarse steps): it is tried again this much later, while the
# relay goes on publishing, and it waits for the lock only once the oldest mark is this old.
MARK_RETRY_S = 0.01
MARK_FORCE_S = 2.0
# A backlog travels packed (protocol 1.3): up to this many rows, and bytes, per broker message for
# one destination. 50 keeps a bundle well under a consumer's batch and a dossier bundle ~100 KiB.
BUNDLE_ROWS = 50
BUNDLE_BYTES = 512 * 1024
# Envelopes a node service applies in one SQLite transaction (one fsync) when they are already
# waiting (a bundle counts as its parts, and is never split); 50 makes the fsync a small share of
# each apply while the first of a batch waits for at most 49 more applies before its commit and ack.
CONSUME_BATCH = 50
# How long an idle relay waits before looking at the outbox again. Writers in the same process
# wake it at once (NodeRuntime.wake); this only bounds how late it sees another process's commit.
RELAY_IDLE_S = 0.05
# After a turn that published less than a full batch, the relay pauses this long before the
# next one: under load the rows of several cases then travel in one turn (one round trip, fewer
# and larger bundles), while a case recorded after a quiet spell still goes at once, and a
# backlog (full batches) drains without pauses.
RELAY_LINGER_S = 0.005
CONSUME_SLICE_S = 0.5         # a consumer returns to its loop at least this often (to see stop)
BACKOFF_START_S = 0.5         # first wait after a lost broker
BACKOFF_MAX_S = 30.0          # waits double up to this cap
PROBE_EVERY_S = 300.0         # a node checks its queue's bindings this often (and at start)
HEARTBEAT_EVERY_S = 30.0      # a node tells county and city it is alive this often
SILENT_AFTER_S = 180.0        # a station with no heartbeat for this long is shown as silent
MEMORY_POLL_S = 0.005         # kombu memory transport polling interval (embedded mode only)
# Bounds on the two tables a sender can fill (issue 15 item 4). Evictions are counted (`counters`)
# and alarmed (quarantine_full, held_full); only quarantine ever deletes a row.
# A quarantined body is kept as its first 64 KiB (plus its length and SHA-256): enough to read
# any real message's envelope and reason whole (a dossier is a few KiB), while four 50-127 MB
# bodies no longer cost 1 GB of file.
QUARANTINE_BODY_MAX = 64 * 1024
# 1000 rows: far more than a healthy node ever quarantines between two looks by its operator,
# and at most ~85 MiB of sealed prefixes; a feedback loop now evicts its oldest rows instead
# of growing the file by thousands of rows a second.
QUARANTINE_MAX_ROWS = 1000
QUARANTINE_MAX_AGE_S = 30 * 86400  # a month to look at a refused message before it goes
# Held messages are kept whole (they are applied when their predecessor comes), so each may be
# up to MAX_MESSAGE_BYTES (1 MB). 500 is five times PREFETCH, the most a requeue can reorder at
# once: reaching it means a sender skipping sequence numbers, not a reordering.
HELD_MAX_ROWS = 500
# A predecessor that has not come in a week (a dead-lettered message not re-published, a
# sender that skipped it) will not come by itself: its successors move to quarantine, where an
# operator still finds them. A week covers a long holiday before anyone can re-publish it.
HELD_MAX_AGE_S = 7 * 86400
# A requeue or redelivery brings a predecessor back in seconds; a stream still waiting after
# 10 minutes is stuck, and an operator should know the same morning (alarm held_waiting).
HELD_ALARM_AFTER_S = 600.0
# How often a running node sweeps (age limits, held-waiting alarms): a few indexed queries on
# small tables, so once a minute costs nothing and an alarm is at most a minute late.
HOUSEKEEPING_EVERY_S = 60.0
# Times from the future (issue 15 item 4): an envelope's sent_at, or its payload's own time (a
# heartbeat's or report's `at`, a registration, a decision, an order), more than this far ahead of
# the receiver's clock is quarantined with the reason (alarm future_time). Node clocks keep time
# to within seconds; 10 minutes forgives a badly set station clock, while a heartbeat dated 2099
# can no longer keep a silent village looking alive at its hub for ever.
FUTURE_TOLERANCE_S = 600.0
# Escalation pacing at a hub (issue 15 item 4, nodes.messaging.pacing). A child sending more
# escalations than NodeConfig.escalations_per_hour (default below) in the last hour raises the
# escalation_rate alarm, and its further messages on `up` are set aside (deferred, sealed) as they
# arrive, before any check, so other children's messages behind them are not kept waiting by
# their full cost.
# 2,000 an hour is hundreds of times a busy village's or township's daily escalations: only a
# flood, or a long-offline station's whole backlog at once, reaches it.
ESCALATIONS_PER_HOUR = 2000
# Deferred messages are handled oldest first: this many after every batch of fresh messages, and
# CONSUME_BATCH at a time whenever the queue is quiet (DEFERRED_IDLE_S without a delivery)...
DEFERRED_PER_BATCH = 5
DEFERRED_IDLE_S = 0.01
# ...except after a full batch (the queue is backed up, the others' messages likely behind the
# flood): then once a second, so a queue that never goes quiet still sees them advance.
DEFERRED_BACKED_UP_EVERY_S = 1.0
# Bounds of the deferred table: at 50,000 rows or 256 MiB, messages are handled as they come
# again (slow for the others, as before pacing, but never lost), with a warning in the log.
DEFERRED_MAX_ROWS = 50_000
DEFERRED_MAX_BYTES = 256 * 1024 * 1024
