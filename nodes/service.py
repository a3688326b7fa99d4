"""The application service: load a case, run one command, commit events + outbox together.

This is where "write, then send" (DESIGN §4 rule 1) is kept: nothing reaches the outbox unless the
event that caused it commits, and a failure anywhere in between leaves the file unchanged.

Personal data goes to `parties` only (sealed by the store); events and reports get the keyed,
memory-hard `party_hash` (`nodes.identity`) at most. An accusation (检举控告) records its accused
unit in the opening event, so `nodes.outbound` can keep the accuser's identity away from it
wherever the case travels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol

from nodes.clock import Clock
from nodes.domain.case import Actor, Case, DomainError, Rules, local_date
from nodes.domain.commands import open_case, re_register
from nodes.domain.corrections import PartyChange, correct
from nodes.domain.identity_numbers import check_id_number, check_phone
from nodes.identity import IdentityHasher
from nodes.notices.model import NoticeRow
from nodes.notices.rows import notice_rows_for
from nodes.outbound import Seal, outbox_rows_for
from nodes.records import OutboxRow, PartyRow
from nodes.text_input import check_facts, check_name
from protocol.areas import AreaCodeError, Tier, default_parent, validate_code
from protocol.messages import CaseEscalated
from protocol.reference import CaseSource
from protocol.reference import dispute_type as lookup_dispute_type
from protocol.text import N_

Command = Callable[[Case, Actor, datetime], None]


class CaseRepository(Protocol):
    """What the service needs of the store: one transaction, cases, parties and the outbox."""

    def atomic(self) -> AbstractContextManager[Any]: ...
    def load_case(self, case_id: str) -> Case | None: ...
    def last_event(self, case_id: str) -> tuple[int, str] | None: ...
    def save(self, case: Case) -> str | None: ...
    def add_parties(self, case_id: str, parties: Sequence[PartyRow]) -> None: ...
    def add_party_version(self, case_id: str, place: int, party: PartyRow, seq: int) -> None: ...
    def parties(self, case_id: str) -> list[PartyRow]: ...
    def next_case_number(self, year: int) -> int: ...
    def add_outbox(self, rows: Sequence[OutboxRow]) -> None: ...
    def add_notices(self, rows: Sequence[NoticeRow]) -> int: ...


class CaseNotFound(DomainError):
    def __init__(self, case_id: str) -> None:
        super().__init__("case_not_found", N_("no case {case_id} at this node"), case_id=case_id)


@dataclass(frozen=True)
class Kept:
    """The case this service last committed, its parties, and the chain hash of its last event."""

    case: Case
    parties: Sequence[PartyRow]
    head: str


@dataclass(frozen=True)
class PartyInput:
    role: str
    name: str
    id_number: str | None = None
    phone: str | None = None
    address: str | None = None


def party_hash(hasher: IdentityHasher, party: PartyInput) -> str:
    """Keyed identity hash (Argon2id, `nodes.identity`): finds repeats across villages without
    carrying the identity. Input: the ID number, else name and phone, upper-cased."""
    return hasher.party(party.name, party.id_number, party.phone)


def check_party(p: PartyInput, today: date | None = None) -> PartyInput:
    """The party as it is stored and hashed: the name trimmed, with no control or
    text-direction character; the ID number (GB 11643 check character, a birth date not after
    `today`) and phone in their one form (`nodes.domain.identity_numbers`). Else DomainError."""
    if p.role not in ("applicant", "respondent", "other"):
        raise DomainError("party_role", N_("party role {role} is not valid"), role=repr(p.role))
    name = check_name(p.name)
    if not name or len(name) > 100:
        raise DomainError("party_name", N_("a party's name is required (at most 100 characters)"))
    return replace(p, name=name,
                   id_number=check_id_number(p.id_number, today) if p.id_number else None,
                   phone=check_phone(p.phone) if p.phone else None)


def corrected_party(old: PartyRow, change: PartyChange, hasher: IdentityHasher,
                    today: date) -> PartyRow:
    """Party `old` with `change` applied, checked like a new party, with its identity hash
    recomputed (a corrected ID number is a different identity)."""
    def pick(given: str | None, kept: str | None) -> str | None:
        return kept if given is None else (given or None)
    name = old.name if change.name is None else change.name
    p = check_party(PartyInput(old.role, name, pick(change.id_number,
                               old.id_number), pick(change.phone, old.phone),
                               pick(change.address, old.address)), today)
    if (p.name, p.id_number, p.phone, p.address) == (old.name, old.id_number, old.phone,
                                                      old.address):
        raise DomainError("correct_same_party", N_(
            "the new details are the same as the recorded ones"))
    return PartyRow(p.role, p.name, party_hash(hasher, p), p.id_number, p.phone, p.address)


def accusation_facts(accusation: bool, accused: str | None) -> dict[str, object]:
    """What the opening event records about an accusation: the flag and the accused unit's code."""
    if not accusation and accused is None:
        return {}
    if not accusation:
        raise DomainError("accused_without_accusation",
                          N_("an accused unit is only recorded when the case is an accusation"))
    if accused is None:
        raise DomainError("accusation_without_accused",
                          N_("an accusation needs the accused unit's area code"))
    try:
        code = validate_code(accused.strip())
    except AreaCodeError as exc:
        raise DomainError("accused_code", N_("the accused unit's area code is not valid: {detail}"),
                          detail=exc) from None
    return {"accusation": True, "accused_node": code}


class CaseService:
    def __init__(self, store: CaseRepository, clock: Clock, *, node_id: str, tier: Tier,
                 rules: Rules, hasher: IdentityHasher, parent: str | None = None,
                 seal: Seal | None, name: str = "") -> None:
        """`seal`: seals personal fields to the receiving node as outbox rows are written
        (`nodes.messaging.signing.Sealer.seal`); None only in tests of the rows' content.
        `name`: the node's name, which its decisions and report-backs carry."""
        self.store, self.clock, self.node_id, self.tier = store, clock, node_id, tier
        self.name = name
        self.rules, self.hasher, self.seal = rules, hasher, seal
        # Where an escalation goes: the configured parent, else the one derived from the code.
        self.parent = parent or (None if tier is Tier.CITY else default_parent(node_id))
        # A mediator records a case and acts on it next: keeping the case in hand saves reading
        # back and replaying its events and opening its parties (see `_case_for`).
        self._kept: Kept | None = None

    def new_case(self, *, source: CaseSource, dispute_type: str, facts: str,
                 parties: Sequence[PartyInput], people_involved: int | None = None,
                 grid_id: str | None = None, role: str = "mediator", accusation: bool = False,
                 accused: str | None = None, user: str | None = None) -> Case:
        try:
            lookup_dispute_type(dispute_type)
        except KeyError:
            raise DomainError("dispute_type", N_("unknown dispute type {code}"),
                              code=repr(dispute_type)) from None
        if not parties:
            raise DomainError("no_party", N_("at least one party is required"))
        now = self.clock.now()
        parties = [check_party(p, local_date(now)) for p in parties]
        facts = check_facts(facts)
        extra = accusation_facts(accusation, accused)
        rows = [PartyRow(p.role, p.name, party_hash(self.hasher, p), p.id_number,
                         p.phone, p.address) for p in parties]
        with self.store.atomic():
            number = self.store.next_case_number(local_date(now).year)
            case_id = f"{self.node_id}-{local_date(now).year}-{number:05d}"
            case = open_case(case_id, Actor(self.node_id, role, user), now, tier=self.tier.value,
                             source=source, dispute_type=dispute_type, facts=facts,
                             people_involved=people_involved or len(parties), grid_id=grid_id,
                             extra=extra, rules=self.rules)
            head = self.commit(case, rows, new=True)
        self._keep(case, rows, head)
        return case

    def receive_escalation(self, sender: str, sent_at: datetime, dossier: CaseEscalated,
                           case_id: str) -> Case:
        """A child's escalation arrives: register the case at this tier with its dossier.

        The case keeps its id; the parties go into this node's `parties` (sealed with this
        node's key) and nowhere else: the opening event records where the case came from and
        why, never who the parties are. A case this hub handed down earlier and that comes up
        again is registered once more on its existing record; a different case under an id
        this hub holds is refused (DomainError: the consumer quarantines it with the reason,
        `nodes.domain.commands.check_comes_back`). An accusation keeps its accused
        unit in the opening event, so this hub too refuses to send it there."""
        actor, at = Actor(self.node_id, "system"), self.clock.now()
        arrival: dict[str, Any] = {
            "escalated_from": sender, "sent_at_child": sent_at.isoformat(),
            "escalation_reason": dossier.reason.value, "reason_text": dossier.reason_text,
            "red_flag": dossier.red_flag, "red_flag_note": dossier.red_flag_note,
            "history": [h.model_dump(mode="json") for h in dossier.history]}
        accused = dossier.accused_node if dossier.accusation else None
        if accused == self.node_id:  # senders refuse this; never open it
            raise DomainError("accusation_self",
                              N_("refusing an accusation against this node {node}"),
                              node=self.node_id)
        with self.store.atomic():
            existing = self.store.load_case(case_id)
            if existing is not None:
                # The same case coming back, or refused (quarantined by the consumer): never a
                # second case merged into the one this hub holds under that id.
                re_register(existing, actor, at, reason=dossier.reason_text, arrival=arrival,
                            origin_node=dossier.origin_node, dispute_type=dossier.dispute_type,
                            facts=dossier.facts, registered_at=dossier.registered_at,
                            rules=self.rules)
                parties = self.store.parties(case_id)
                head = self.commit(existing, parties)
                self._keep(existing, parties, head)
                return existing
            extra = {k: v for k, v in arrival.items() if k != "escalated_from"}
            if accused is not None:
                extra.update(accusation=True, accused_node=accused)
            case = open_case(case_id, actor, at, tier=self.tier.value,
                             source=CaseSource.ESCALATION, dispute_type=dossier.dispute_type,
                             facts=dossier.facts, people_involved=dossier.people_involved,
                             origin_node=dossier.origin_node, escalated_from=sender, extra=extra,
                             grid_id=dossier.grid_id, rules=self.rules)
            rows = [PartyRow(p.role, p.name, p.party_hash, p.id_number, p.phone, p.address)
                    for p in dossier.parties]
            head = self.commit(case, rows, new=True)
        self._keep(case, rows, head)
        return case

    def act(self, case_id: str, command: Command, role: str = "mediator",
            user: str | None = None) -> Case:
        """Run one command (or a few, composed) on a case in a single transaction, as `user`
        (the named person acting, None for the node itself) in `role`."""
        with self.store.atomic():
            case, parties = self._case_for(case_id)
            command(case, Actor(self.node_id, role, user), self.clock.now())
            head = self.commit(case, parties)
        self._keep(case, parties, head)
        return case

    def correct(self, case_id: str, *, reason: str, facts: str | None = None,
                party: PartyChange | None = None, role: str = "mediator",
                user: str | None = None) -> Case:
        """A correction (`nodes.domain.corrections`) by `user` in `role`: one event saying what
        changed and why; a party's new details go to `parties` as a new sealed version, never
        into the event."""
        now = self.clock.now()
        with self.store.atomic():
            case, parties = self._case_for(case_id)
            correct(case, Actor(self.node_id, role, user), now, reason=reason,
                    facts=None if facts is None else check_facts(facts),
                    party=party.place if party else None, fields=party.fields if party else (),
                    parties=len(parties))
            new = None if party is None else corrected_party(
                parties[party.place - 1], party, self.hasher, local_date(now))
            head = self.commit(case, parties)
            if party is not None and new is not None:
                self.store.add_party_version(case_id, party.place, new, case.seq)
                parties = self.store.parties(case_id)
        self._keep(case, parties, head)
        return case

    def _case_for(self, case_id: str) -> tuple[Case, Sequence[PartyRow]]:
        """The case and its parties: the one kept in hand if the file still ends with exactly the
        event we last wrote for it (same seq, same chain hash: nobody else touched it, and no
        rollback undid it), else loaded from the file. Call inside atomic."""
        kept, self._kept = self._kept, None  # a failing command must not leave a half-run case
        if (kept is not None and kept.case.case_id == case_id and not kept.case.pending
                and self.store.last_event(case_id) == (kept.case.seq, kept.head)):
            return kept.case, kept.parties
        case = self.store.load_case(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case, self.store.parties(case_id)

    def _keep(self, case: Case, parties: Sequence[PartyRow], head: str | None) -> None:
        self._kept = Kept(case, tuple(parties), head) if head is not None else None

    def commit(self, case: Case, parties: Sequence[PartyRow], new: bool = False) -> str | None:
        """Save pending events, their outbox rows and notices (`nodes.notices.rows`) and, for a
        new case, its parties; call inside atomic. Returns the chain hash of the last event
        saved (None if there was none)."""
        events = list(case.pending)
        outbox = outbox_rows_for(case, events, self.node_id, self.tier, parties,
                                 parent=self.parent, seal=self.seal, name=self.name,
                                 risk=self.rules.risk)
        head = self.store.save(case)
        if new:
            self.store.add_parties(case.case_id, parties)
        self.store.add_outbox(outbox)
        # Notices to the parties and alerts to the staff, with the events that cause them.
        self.store.add_notices(notice_rows_for(case, events, self.node_id, parties,
                                               name=self.name))
        return head
