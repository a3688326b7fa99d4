"""Every reliability setting of the notifier, in one place (DESIGN §4; as `nodes.messaging.settings`)."""

from __future__ import annotations

# Retries of a notice the gateway did not take (5xx, a timeout, no connection): the first waits
# FIRST_DELAY_S, each next one twice as long, at most MAX_DELAY_S; after MAX_ATTEMPTS sends the
# notice is given up with an alarm (notice_gave_up). 30 s doubling to an hour, 30 attempts: a
# gateway away for most of a day is waited out (about 23 h from the first try to the last).
FIRST_DELAY_S = 30.0
MAX_DELAY_S = 3600.0
MAX_ATTEMPTS = 30
# How long the notifier waits for the HTTP gateway's answer unless `[notices] timeout_s` says.
HTTP_TIMEOUT_S = 10.0
# A claimed notice whose send has not finished in this long belongs to a notifier that died (a
# crash, a power cut): another may take it. Far above any send's timeout.
CLAIM_STALE_S = 300.0
# How often an idle notifier looks for notices due (a commit elsewhere does not wake it: notices
# are not urgent to the second).
POLL_S = 1.0
# Notices taken per round (oldest due first).
BATCH = 50
# How often the periodic checks run (orders held here, clocks due soon, follow-up visits): on
# start and then this often; each is a few indexed queries. "Soon" is the node's due_soon_days.
CHECK_EVERY_S = 300.0
# The file adapter reads this much of its file's end at start, to find notices written just
# before a crash (their sent-mark lost) and not write them again.
FILE_TAIL_BYTES = 256 * 1024
