"""Exchange names of the network (DESIGN §3). The full broker topology is declared from here."""

from __future__ import annotations

EXCHANGE_UP = "fengqiao.up"          # escalations, child -> parent; key = sender's path
EXCHANGE_DOWN = "fengqiao.down"      # decisions and orders, parent -> child; key = destination
EXCHANGE_REPORT = "fengqiao.report"  # lifecycle reports and heartbeats; key = sender's path
