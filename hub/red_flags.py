"""A hub hears every lifecycle report of its subtree (township, county and city alike): it keeps
each for the flow table, and a red flag raised below on a case this hub holds is also recorded
on the hub's own copy at once, so its `case show` and the dossier it sends on carry the flag.

The report carries no note and no name (DESIGN §3): the hub's note says who raised the flag and
when; the note's text reaches the hub only inside a dossier, sealed.
"""

from __future__ import annotations

from functools import partial

from hub.flow import on_lifecycle_report
from hub.store import HubStore
from nodes.domain.dossier import note_red_flag_below
from nodes.domain.states import Action
from nodes.service import CaseService
from protocol.envelope import Envelope
from protocol.messages import LifecycleReport


def on_report(service: CaseService, store: HubStore, env: Envelope) -> None:
    """Keep the report; a red flag from below on a case held here goes on the hub's copy."""
    on_lifecycle_report(store, env)
    report = env.payload_as(LifecycleReport)
    if report.event != Action.RED_FLAG.value or env.sender == service.node_id:
        return
    if store.last_event(env.case) is None:  # not held here: the report is all there is
        return
    service.act(env.case, partial(note_red_flag_below, node=env.sender, tier=report.tier.value,
                                  flagged_at=report.at), role="system")
