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
HEARTBEAT_EVERY_S = 30.0      # a node tells county and city it is alive this often
SILENT_AFTER_S = 180.0        # a station with no heartbeat for this long is shown as silent
MEMORY_POLL_S = 0.005         # kombu memory transport polling interval (embedded mode only)
