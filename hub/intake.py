"""A hub accepts its children's escalations: it registers the case at its own tier with the dossier.

ESCALATED at tier N is REGISTERED at tier N+1 (DOMAIN §3.1). The case keeps its id; the parties'
personal data go into this hub's `parties` table (sealed with this hub's key) and nowhere else:
the opening event records where the case came from and why, never who the parties are. An
accusation keeps its accused unit in the opening event, so this hub too refuses to send it there.
"""

from __future__ import annotations

from nodes.domain.case import Actor, DomainError
from nodes.domain.commands import open_case
from nodes.domain.states import Action
from nodes.service import CaseService
from nodes.store.sqlite_store import PartyRow, SqliteStore
from protocol.envelope import Envelope
from protocol.messages import CaseEscalated
from protocol.reference import CaseSource


def on_case_escalated(service: CaseService, store: SqliteStore, env: Envelope) -> None:
    dossier = env.payload
    assert isinstance(dossier, CaseEscalated) and env.case_id is not None
    actor, at = Actor(service.node_id, "system"), service.clock.now()
    arrival = {"escalated_from": env.sender, "sent_at_child": env.sent_at.isoformat(),
               "escalation_reason": dossier.reason.value, "reason_text": dossier.reason_text,
               "red_flag": dossier.red_flag,
               "history": [h.model_dump(mode="json") for h in dossier.history]}
    accusation = {"accusation": True, "accused_node": dossier.accused_node} \
        if dossier.accusation and dossier.accused_node else {}
    if accusation and dossier.accused_node == service.node_id:  # senders refuse this; never open it
        raise DomainError(f"收到针对本单位 {service.node_id} 的检举控告，拒绝登记",
                          f"refusing an accusation against this node {service.node_id}")
    existing = service.store.load_case(env.case_id)
    if existing is not None:  # handed down earlier, now escalated again
        existing._record(Action.REGISTER, actor, at, dossier.reason_text, **arrival)
        service.commit(existing, service.store.parties(env.case_id))
        return
    case = open_case(env.case_id, actor, at, tier=service.tier.value,
                     source=CaseSource.ESCALATION, dispute_type=dossier.dispute_type,
                     facts=dossier.facts, people_involved=dossier.people_involved,
                     origin_node=dossier.origin_node, escalated_from=env.sender,
                     extra={**{k: v for k, v in arrival.items() if k != "escalated_from"},
                            **accusation})
    parties = [PartyRow(p.role, p.name, p.party_hash, p.id_number, p.phone, p.address)
               for p in dossier.parties]
    service.commit(case, parties, new=True)
