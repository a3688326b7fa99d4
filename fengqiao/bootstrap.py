"""The one composition root: a config in, a wired node out. Every adapter is a parameter.

The CLI, the services (`node run`, `hub run`), the demo, the bench and the tests all build nodes
here. Real adapters are the defaults: the SQLite store at the config's path (with the hub's tables
for a hub), the system clock, and the transport the config's `broker_url` names (`memory://`: the
process's in-memory broker; `amqp://`: RabbitMQ). Tests and the demo pass their own.

No key, no node: personal data is sealed at rest with the node's `data_key` (or
`FENGQIAO_DATA_KEY`), and a node without one refuses to start rather than store names in the
clear. `fengqiao node init` and the demo write a fresh key into every config they create.

No message keys, no node either: every message a node publishes is signed and every one it
receives is checked (`nodes.messaging.signing`), and personal data travels sealed to its receiver.
A config read from a file needs `signing_key`, `sealing_key` and the network's `keys_file`; a
config built in code with no keys at all (tests) gets them from an in-process keyring
(`nodes.keyring`): the one passed as `keyring`, else the process's own.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from hub.flow import on_heartbeat
from hub.intake import on_case_escalated, on_case_report_back
from hub.red_flags import on_report
from hub.store import HubStore
from hub.web_flow import router as flow_page
from hub.web_supervision import router as supervision_page
from nodes.alarms import AlarmKind, clear_alarm, raise_alarm
from nodes.calendar_loader import load_node_calendars
from nodes.clock import Clock, SystemClock
from nodes.config import ConfigError, NodeConfig, load_config
from nodes.crypto import KEY_ENV, DataCipher, DataKeyError, configured_key
from nodes.domain.case import Rules
from nodes.identity import IdentityHasher
from nodes.inbound import node_handlers
from nodes.keyring import LocalKeyring, keys_for
from nodes.messaging.consumer import Consumer, Handler, Trust
from nodes.messaging.delivery import Delivery
from nodes.messaging.memory import MemoryBroker, default_broker
from nodes.messaging.pacing import Pacer
from nodes.messaging.port import Transport
from nodes.messaging.relay import Relay
from nodes.messaging.signing import Sealer, Signer, Verifier
from nodes.node import Node
from nodes.service import CaseService
from nodes.store.rehash import rehash_parties
from nodes.store.sqlite_store import SqliteStore
from nodes.supervision import Supervision
from nodes.web.app import add_pages
from protocol.areas import Tier
from protocol.text import N_
from protocol.topology import EXCHANGE_QUARANTINE, node_queue

# Every web app built in this process has the hub's flow page (it answers 404 at a village).
add_pages(flow_page)
add_pages(supervision_page)


def rules_for(config: NodeConfig) -> Rules:
    """The shipped arrangements and the operator's calendars; a year with neither counts weekends
    and statutory holidays only, and its deadlines say they are provisional."""
    return Rules(target_days=config.target_days, max_extension_days=config.max_extension_days,
                 days=load_node_calendars(config.calendar_dir),
                 acceptance_days=config.acceptance_days, follow_up_days=config.follow_up_days,
                 tracks=config.tracks, risk=config.risk)


def cipher_for(config: NodeConfig) -> DataCipher:
    """The node's data key as a cipher, or ConfigError naming `data_key`."""
    key = configured_key(config.data_key)
    if key is None:
        raise ConfigError("no_data_key", N_(
            "no data_key: set data_key in the node's secrets file (`fengqiao audit new-key` "
            "prints one) or the environment variable {env}, because personal data is never "
            "stored unencrypted"), env=KEY_ENV)
    try:
        return DataCipher(key)
    except DataKeyError as exc:
        raise ConfigError("bad_data_key", N_("field 'data_key': {detail}"), detail=exc) from None


def transport_for(config: NodeConfig, broker: MemoryBroker | None = None,
                  signer: Signer | None = None) -> Transport:
    """`memory://`: a connection to the in-memory broker (the process's own unless one is given),
    publishing as the node's own user, as on RabbitMQ; `amqp://` or `amqps://`: a RabbitMQ
    connection (opened on first use) with the password from the secrets file. Either signs
    every message with `signer` (the node's; `bootstrap` always gives it)."""
    url = config.broker_url
    if url.startswith("memory://"):
        return (broker or default_broker()).connect(user_id=config.node_id, signer=signer)
    if url.startswith(("amqp://", "amqps://")):
        from nodes.messaging.amqp import AmqpTransport  # kombu is only loaded for a broker

        return AmqpTransport(config.broker_address, signer=signer)
    raise ConfigError("broker_url", N_("field 'broker_url': {scheme} is not memory:// or "
                                       "amqp://"), scheme=repr(url.split("://")[0]))


def open_store(config: NodeConfig, cipher: DataCipher) -> SqliteStore:
    """The node's file: a hub's has the hub's tables too."""
    kind = SqliteStore if config.tier is Tier.VILLAGE else HubStore
    return kind(config.database, cipher=cipher)


def handlers_for(tier: Tier, service: CaseService, store: SqliteStore,
                 supervision: Supervision) -> dict[str, Handler]:
    """Every node takes decisions and supervision orders; hubs take escalations, answers to
    orders and their subtree's reports (a red flag below lands on the hub's copy of the case:
    `hub.red_flags`)."""
    handlers = {**node_handlers(service), "supervision_order": supervision.on_order}
    if tier is not Tier.VILLAGE:
        handlers["case_escalated"] = partial(on_case_escalated, service)
        handlers["case_report_back"] = partial(on_case_report_back, service)
        handlers["supervision_answer"] = supervision.on_answer
    if tier is not Tier.VILLAGE and isinstance(store, HubStore):
        handlers["lifecycle_report"] = partial(on_report, service, store)
        handlers["heartbeat"] = partial(on_heartbeat, store)
    return handlers


def bootstrap(config: NodeConfig | str | Path, *, clock: Clock | None = None,
              store: SqliteStore | None = None, transport: Transport | None = None,
              broker: MemoryBroker | None = None, keyring: LocalKeyring | None = None) -> Node:
    """Wire one node. `store`, `clock` and `transport` replace the real ones (a transport given
    here must sign with this node's key to be heard); `broker` is the in-memory broker a
    `memory://` node connects to (the process's own if not given); `keyring` holds the keys of
    an in-process network (for a config built in code with no keys: see above)."""
    cfg = config if isinstance(config, NodeConfig) else load_config(config)
    cipher = cipher_for(cfg)
    keys = keys_for(cfg, keyring)
    if cfg.identity_key is None:
        raise ConfigError("no_identity_key", N_(
            "no identity_key: set the network's identity key in the node's secrets file (every "
            "node of a network has the same one)"))
    rules = rules_for(cfg)
    hasher = IdentityHasher(cfg.identity_key, cfg.identity_cost)
    clock = clock or SystemClock()
    store = store or open_store(cfg, cipher)
    try:
        # Party hashes of the old (fast, reversible) form get the new one, once per row.
        rehash_parties(store, hasher, cfg.identity_key)
        transport = transport or transport_for(cfg, broker, Signer(keys, cfg.parent_id))
    except BaseException:
        store.close()
        raise
    service = CaseService(store, clock, node_id=cfg.node_id, tier=cfg.tier, rules=rules,
                          hasher=hasher, parent=cfg.parent_id, seal=Sealer(keys).seal,
                          name=cfg.name)
    tree = cfg.area_tree()
    supervision = Supervision(store, clock, node_id=cfg.node_id, tier=cfg.tier, tree=tree,
                              seal=service.seal, name=cfg.name,
                              raise_after=cfg.raise_after_overdue)

    def to_quarantine(body: bytes, reason: str, delivery: Delivery) -> None:
        transport.publish_raw(EXCHANGE_QUARANTINE, "", body, headers={
            "x-reason": reason[:500], "x-node": cfg.node_id,
            "x-routing-key": delivery.routing_key, "x-user-id": delivery.user_id or ""})

    trust = Trust(cfg.node_id, tree, require_user_id=cfg.require_user_id)
    # Hubs pace each child's escalations, so one child's flood does not starve the others.
    pacer = None if cfg.tier is Tier.VILLAGE else Pacer(store, cfg.escalations_per_hour,
                                                        clock.now)
    consumer = Consumer(store, handlers_for(cfg.tier, service, store, supervision), trust,
                        clock.now,
                        to_quarantine, verifier=Verifier(keys, cfg.parent_id), pacer=pacer)
    relay = Relay(store, transport, cfg.node_id, clock.now,
                  on_unroutable=lambda exc: raise_alarm(
                      store, AlarmKind.UNROUTABLE, f"{exc.exchange} {exc.routing_key}",
                      "the broker returned this node's message: no queue is bound for it; it "
                      "stays in the outbox and goes again", clock.now()),
                  on_routed=lambda exchange, key: clear_alarm(
                      store, AlarmKind.UNROUTABLE, f"{exchange} {key}", clock.now()))
    queue = node_queue(cfg.node_id, cfg.tier, tree, cfg.children)
    return Node(cfg, clock, store, service, transport, relay, consumer, queue, supervision)
