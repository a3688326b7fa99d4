"""Broker access control as data (issue 4): the permission and topic-permission regexes each node's
user gets, the RabbitMQ password hash, the sample definitions file, and the `deploy` commands'
failures (one sentence, exit 2) that need no broker.

RabbitMQ matches these regexes unanchored (Erlang `re:run`), so every check here uses `re.search`,
not `re.match`/`fullmatch`: a regex that only works when anchored by the caller would pass here
and let keys through on the broker.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import re
import stat
from pathlib import Path

import pytest

from fengqiao.main import main
from ops.definitions import (
    NEVER,
    NO_PASSWORD,
    NodeAccess,
    definitions,
    exactly,
    hash_password,
    node_access,
    password_matches,
)
from ops.deploy_cmds import load_network, read_secrets
from ops.management import Management, ManagementError
from protocol.areas import AreaTree, Tier
from protocol.routing import node_key, probe_key
from protocol.topology import EXCHANGE_DOWN, EXCHANGE_QUARANTINE, EXCHANGE_REPORT, EXCHANGE_UP

ROOT = Path(__file__).resolve().parents[2]
COUNTY, TOWN, TOWN2 = "339741000000", "339741101000", "339741102000"
A, B, C = "339741101201", "339741101202", "339741102201"  # C is under the other township
NETWORK = [(COUNTY, Tier.COUNTY), (TOWN, Tier.TOWNSHIP), (TOWN2, Tier.TOWNSHIP),
           (A, Tier.VILLAGE), (B, Tier.VILLAGE), (C, Tier.VILLAGE)]
TREE = AreaTree()


def allows(regex: str, value: str) -> bool:
    """As RabbitMQ checks a permission: unanchored search, and "" means `^$` (nothing)."""
    return re.search(regex or "^$", value) is not None


def access(node: str, node_declares: bool = False) -> NodeAccess:
    tier = dict(NETWORK)[node]
    kids = [n for n, _ in NETWORK if TREE.parent_of(n) == node]
    return node_access(node, tier, TREE, kids, node_declares)


# --------------------------------------------------------------------------- topic permissions

def test_village_may_publish_up_and_report_only_under_its_own_key() -> None:
    village = access(A)
    for exchange in (EXCHANGE_UP, EXCHANGE_REPORT):
        regex = village.topic_write[exchange]
        assert allows(regex, node_key(A))
        refused = [node_key(B), node_key(TOWN), node_key(C), node_key(A) + ".1",
                   node_key(A) + "1", "x." + node_key(A), node_key(A).replace(".", "x"),
                   "33.97.41.101.*", "#", ""]
        assert [key for key in refused if allows(regex, key)] == []


def test_village_may_publish_down_only_its_own_binding_probe() -> None:
    regex = access(A).topic_write[EXCHANGE_DOWN]
    assert allows(regex, node_key(A))  # lands in its own queue, dropped there (nodes.probe)
    assert not any(allows(regex, key) for key in (node_key(B), node_key(TOWN), "", "#"))


def test_hubs_may_probe_their_own_up_binding_only() -> None:
    town = access(TOWN).topic_write[EXCHANGE_UP]
    assert allows(town, probe_key(TOWN))
    assert not any(allows(town, key) for key in (probe_key(TOWN2), probe_key(COUNTY),
                                                 probe_key(A), node_key(A)))
    assert not allows(access(A).topic_write[EXCHANGE_UP], probe_key(A))  # villages: no up queue


def test_township_may_send_down_to_its_own_villages_only() -> None:
    regex = access(TOWN).topic_write[EXCHANGE_DOWN]
    assert allows(regex, node_key(A))
    assert allows(regex, node_key(B))
    refused = [node_key(C), node_key(TOWN2), node_key(COUNTY), node_key(A) + ".1",
               "33.97.41.101.*", "33.97.41.101.#", "33.97.41.101.203", ""]
    assert [key for key in refused if allows(regex, key)] == []


def test_county_sends_down_to_townships_and_city_escalates_nowhere() -> None:
    county = access(COUNTY).topic_write[EXCHANGE_DOWN]
    assert allows(county, node_key(TOWN))
    assert allows(county, node_key(TOWN2))
    assert not allows(county, node_key(A))  # not past the township
    city = "339700000000"
    city_access = node_access(city, Tier.CITY, TREE, [COUNTY])
    assert city_access.topic_write[EXCHANGE_UP] == exactly([probe_key(city)])  # its probe only


def test_topic_read_allows_exactly_the_own_queue_bindings() -> None:
    """Binding keys are checked against topic read: a node cannot bind its queue to `#`."""
    town, county = access(TOWN), access(COUNTY)
    assert allows(town.topic_read[EXCHANGE_UP], "33.97.41.101.*")
    assert not any(allows(town.topic_read[EXCHANGE_UP], k)
                   for k in ("#", "33.97.41.#", "33.97.41.102.*", "33.97.41.101.*.x"))
    assert allows(county.topic_read[EXCHANGE_REPORT], "33.97.41.#")
    assert not allows(county.topic_read[EXCHANGE_REPORT], "33.97.#")
    assert access(A).topic_read[EXCHANGE_UP] == NEVER
    assert access(A).topic_read[EXCHANGE_REPORT] == NEVER


def test_configured_parent_is_the_only_down_sender() -> None:
    """A township attached straight to the city by configuration (no county in between)."""
    city, town = "339700000000", "339741101000"
    tree = AreaTree(overrides={town: city})
    city_access = node_access(city, Tier.CITY, tree, [town])
    assert allows(city_access.topic_write[EXCHANGE_DOWN], node_key(town))
    assert allows(city_access.topic_read[EXCHANGE_UP], node_key(town))  # bound by exact key
    doc = definitions([(city, Tier.CITY), (town, Tier.TOWNSHIP)], tree=tree, with_users=True)
    down = {t["user"]: t["write"] for t in doc["topic_permissions"] if t["exchange"] == EXCHANGE_DOWN}
    assert allows(down[city], node_key(town))


def test_never_matches_nothing_and_exactly_escapes() -> None:
    assert not any(allows(NEVER, s) for s in ("", "a", "33.97", "(?!)"))
    assert exactly([]) == NEVER
    assert allows(exactly(["a.b"]), "a.b")
    assert not allows(exactly(["a.b"]), "axb")
    assert exactly(["b", "a", "a"]) == "^(a|b)$"


# --------------------------------------------------------------------------- regular permissions

@pytest.mark.parametrize("node_declares", [True, False])
def test_regular_permissions_keep_a_village_to_its_own_queue(node_declares: bool) -> None:
    village = access(A, node_declares)
    own, other = f"fengqiao.node.{A}", f"fengqiao.node.{B}"
    assert allows(village.read, own)
    assert not allows(village.read, other)
    assert not allows(village.read, own + "0")
    assert not allows(village.read, "fengqiao.dead-letter")
    for regex in (village.write, village.configure):
        assert not allows(regex, other)
        assert not allows(regex, "amq.default")
    assert allows(village.write, EXCHANGE_UP)
    assert allows(village.write, EXCHANGE_QUARANTINE)
    assert allows(access(TOWN, node_declares).write, EXCHANGE_DOWN)
    if node_declares:  # what KombuTransport.declare needs, and no more than that
        assert allows(village.configure, own)
        assert allows(village.configure, EXCHANGE_UP)
    else:  # nothing to configure, and the shared quarantine queue is not readable
        assert village.configure == ""
        assert not allows(village.read, "fengqiao.quarantine")
        assert not allows(village.read, EXCHANGE_UP)


def test_every_user_has_a_topic_permission_on_every_topic_exchange() -> None:
    """RabbitMQ allows every routing key on an exchange for which a user has none at all."""
    doc = definitions(NETWORK, with_users=True)
    pairs = {(t["user"], t["exchange"]) for t in doc["topic_permissions"]}
    assert pairs == {(n, e) for n, _ in NETWORK for e in (EXCHANGE_UP, EXCHANGE_DOWN, EXCHANGE_REPORT)}
    assert all(u["tags"] == [] for u in doc["users"])  # no impersonator, no management
    assert "users" not in definitions(NETWORK)  # topology only unless asked


# --------------------------------------------------------------------------- password hash

def test_password_hash_is_rabbitmq_sha256_format() -> None:
    salt, password = bytes([0x90, 0x8D, 0xC6, 0x0A]), "村站-pw 1"
    made = hash_password(password, salt)
    raw = base64.b64decode(made)
    assert raw[:4] == salt
    assert len(raw) == 36
    assert raw[4:] == hashlib.sha256(salt + password.encode("utf-8")).digest()
    assert password_matches(password, made)
    assert not password_matches(password + "x", made)
    first, second = hash_password(password), hash_password(password)
    assert first != second
    assert password_matches(password, first)
    assert password_matches(password, second)
    with pytest.raises(ValueError, match="4 bytes"):
        hash_password(password, b"123")


# --------------------------------------------------------------------------- sample files

def sample_configs() -> list[Path]:
    return [Path(p) for p in sorted(glob.glob(str(ROOT / "deploy/configs/*.toml")))]


def test_sample_definitions_file_is_current_and_has_no_secrets() -> None:
    net = load_network(sample_configs(), "fengqiao", users=True)
    fresh = definitions(net.nodes, "fengqiao", net.tree, with_users=True)
    committed = json.loads((ROOT / "deploy/rabbitmq/definitions.json").read_text(encoding="utf-8"))
    assert committed == fresh, "regenerate: fengqiao deploy definitions deploy/configs/*.toml " \
                               "--with-users > deploy/rabbitmq/definitions.json"
    assert {u["password_hash"] for u in committed["users"]} == {NO_PASSWORD}


def test_sample_configs_require_validated_user_ids() -> None:
    from nodes.config import load_config

    configs = [load_config(p) for p in sample_configs()]
    assert configs
    assert all(c.require_user_id for c in configs)
    assert all(c.broker_url.startswith(f"amqp://{c.node_id}@") for c in configs)
    assert all(c.broker_password is None and c.identity_key is None for c in configs)


# --------------------------------------------------------------------------- commands

def write_config(folder: Path, node: str, tier: Tier, url: str | None = None) -> Path:
    path = folder / f"{node}.toml"
    url = url or f"amqp://{node}@127.0.0.1:5672/fengqiao"
    path.write_text(f'node_id = "{node}"\ntier = "{tier.value}"\ndatabase = "{node}.db"\n'
                    f'broker_url = "{url}"\nrequire_user_id = true\n', encoding="utf-8")
    return path


def one_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    out = capsys.readouterr()
    assert code == 2, out
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert "Traceback" not in out.err, out.err
    return lines[0]


def test_secrets_out_keeps_known_passwords_and_hashes_match(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    configs = [write_config(tmp_path, n, t) for n, t in NETWORK[1:4]]
    secrets = tmp_path / "secrets.toml"
    assert main(["deploy", "definitions", *map(str, configs[:2]), "--secrets-out", str(secrets)]) == 0
    first = read_secrets(secrets)
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["deploy", "definitions", *map(str, configs), "--secrets-out", str(secrets)]) == 0
    doc = json.loads(capsys.readouterr().out)
    second = read_secrets(secrets)
    assert set(second) == {TOWN, TOWN2, A}
    assert {k: second[k] for k in first} == first
    assert all(password_matches(second[u["name"]], u["password_hash"]) for u in doc["users"])
    assert not any(pw in json.dumps(doc) for pw in second.values())


def test_config_whose_broker_user_is_not_the_node_is_refused(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_config(tmp_path, A, Tier.VILLAGE, "amqp://guest@127.0.0.1:5672/fengqiao")
    assert "node id" in one_error(capsys, main(["--lang", "en", "deploy", "definitions", str(bad),
                                                "--with-users"]))
    other_vhost = write_config(tmp_path, B, Tier.VILLAGE, f"amqp://{B}@127.0.0.1:5672/%2F")
    assert "vhost '/'" in one_error(capsys, main(["--lang", "en", "deploy", "definitions",
                                                  str(other_vhost)]))


def test_configs_that_disagree_about_the_tree_are_refused(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    town = write_config(tmp_path, TOWN, Tier.TOWNSHIP)
    town.write_text(town.read_text(encoding="utf-8") + f'children = ["{C}"]\n', encoding="utf-8")
    other = write_config(tmp_path, C, Tier.VILLAGE)
    other.write_text(other.read_text(encoding="utf-8") + f'parent = "{TOWN2}"\n', encoding="utf-8")
    line = one_error(capsys, main(["--lang", "en", "deploy", "definitions", str(town), str(other)]))
    assert f"the parent of {C} disagrees" in line
    line = one_error(capsys, main(["--lang", "en", "deploy", "definitions", str(town), str(town)]))
    assert f"node {TOWN} is given twice" in line


def test_apply_without_a_reachable_api_is_one_sentence(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, A, Tier.VILLAGE)
    line = one_error(capsys, main(["--lang", "en", "deploy", "apply", "--management-url",
                                   "http://admin:s3cret@127.0.0.1:1", "--timeout", "2", str(config)]))
    assert "cannot reach the management API at 127.0.0.1:1" in line
    assert "s3cret" not in line


def test_apply_refuses_secrets_without_every_node(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    configs = [write_config(tmp_path, n, t) for n, t in ((A, Tier.VILLAGE), (B, Tier.VILLAGE))]
    secrets = tmp_path / "s.toml"
    secrets.write_text(f'[passwords]\n"{A}" = "pw"\n', encoding="utf-8")
    line = one_error(capsys, main(["--lang", "en", "deploy", "apply", "--management-url",
                                   "http://a:b@127.0.0.1:1", "--secrets", str(secrets),
                                   *map(str, configs)]))
    assert f"no password for node {B}" in line
    secrets.write_text('[passwords]\n"not-a-node" = "pw"\n', encoding="utf-8")
    assert "expected [passwords]" in one_error(capsys, main(
        ["--lang", "en", "deploy", "apply", "--management-url", "http://a:b@127.0.0.1:1",
         "--secrets", str(secrets), str(configs[0])]))


def test_apply_needs_a_management_url(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FENGQIAO_MANAGEMENT_URL", raising=False)
    config = write_config(tmp_path, A, Tier.VILLAGE)
    assert "--management-url" in one_error(capsys, main(["deploy", "apply", str(config)]))
    with pytest.raises(ManagementError, match="http://user:password@host:15672"):
        Management("amqp://guest:guest@127.0.0.1:5672")
