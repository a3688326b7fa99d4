"""Where a node's message keys come from (issue 15 item 3): `node init` writes them, `deploy keys`
gathers the public halves into the network's keys.json, `node keys` adds and rotates them, and a
node whose keys or keys.json are missing or wrong does not start (one sentence naming the field)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from fengqiao.bootstrap import bootstrap
from fengqiao.main import main
from nodes.config import ConfigError, load_config
from nodes.i18n import render
from nodes.keyring import FileDirectory, LocalKeyring
from nodes.secrets import read_secrets
from protocol.keydir import KeyDirectory, PublicKeys, load_directory, save_directory
from protocol.keys import key_id, load_sealing_key, load_signing_key, load_signing_keys
from protocol.seal import KID_HEADER
from protocol.topology import EXCHANGE_UP

VILLAGE, TOWNSHIP = "330681111242", "330681111000"


def init(folder: Path, code: str) -> Path:
    assert main(["node", "init", "--code", code, "--dir", str(folder)]) == 0
    return folder / "fengqiao.toml"


@pytest.fixture
def station(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("FENGQIAO_LANG", "FENGQIAO_CONFIG", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    return init(tmp_path / "v", VILLAGE)


def refusal(config: Path) -> str:
    with pytest.raises(ConfigError) as info:
        bootstrap(config)
    return render(info.value, "en")


def without_message_keys(config: Path) -> None:
    secrets = config.parent / "secrets.toml"
    kept = [line for line in secrets.read_text(encoding="utf-8").splitlines()
            if not line.startswith(("signing_key", "sealing_key"))]
    secrets.write_text("\n".join(kept) + "\n", encoding="utf-8")


def test_node_init_writes_a_key_pair_and_a_starting_keys_json(station: Path) -> None:
    config = load_config(station)
    assert config.keys_file == station.parent / "keys.json"
    own = load_directory(station.parent / "public-keys.json")
    assert own.nodes() == [VILLAGE]
    assert own.keys_of(VILLAGE)[0].kid == key_id(load_signing_key(config.signing_key))
    assert own.keys_of(VILLAGE)[0].sealing_kid == key_id(load_sealing_key(config.sealing_key))
    assert load_directory(station.parent / "keys.json").to_json() == own.to_json()
    node = bootstrap(station)
    node.close()


def test_a_node_without_its_keys_or_keys_json_does_not_start(station: Path) -> None:
    keys = station.parent / "keys.json"
    keys.rename(keys.with_suffix(".gone"))
    assert refusal(station) == (f"field 'keys_file': keys file {keys} not found (get the "
                                "network's keys.json from `fengqiao deploy keys`)")
    save_directory(keys, KeyDirectory())  # lists nobody, not even this node
    assert "none of 330681111242's signing keys is listed" in refusal(station)
    keys.write_text("{not json", encoding="utf-8")
    assert "is not valid JSON" in refusal(station)
    keys.with_suffix(".gone").rename(keys)
    without_message_keys(station)
    assert refusal(station).startswith("no signing_key: set signing_key and sealing_key in the "
                                       f"secrets file of node {VILLAGE}")


def test_keys_json_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    ring = LocalKeyring()
    first = KeyDirectory().with_keys(VILLAGE, PublicKeys.of(*ring.pair(VILLAGE)))
    save_directory(path, first)
    source = FileDirectory(path)
    assert source.directory().nodes() == [VILLAGE]
    time.sleep(0.01)
    save_directory(path, first.with_keys(TOWNSHIP, PublicKeys.of(*ring.pair(TOWNSHIP))))
    assert source.directory().nodes() == [TOWNSHIP, VILLAGE]
    path.write_text("half a file", encoding="utf-8")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert source.directory().nodes() == [TOWNSHIP, VILLAGE]  # the last good one stays


def test_deploy_keys_gathers_every_node_and_refuses_gaps_and_conflicts(
        tmp_path: Path, station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    town = init(tmp_path / "t", TOWNSHIP)
    out = tmp_path / "keys.json"
    publics = [str(p.parent / "public-keys.json") for p in (station, town)]
    assert main(["deploy", "keys", *publics, "--out", str(out), "--configs", str(station),
                 str(town)]) == 0
    assert load_directory(out).nodes() == [TOWNSHIP, VILLAGE]
    capsys.readouterr()
    assert main(["--lang", "en", "deploy", "keys", publics[0], "--out", str(out), "--configs",
                 str(station), str(town)]) == 2
    assert f"node {TOWNSHIP} has no public keys among those given" in capsys.readouterr().err
    other = init(tmp_path / "v2", VILLAGE)  # the same node id with other keys
    assert main(["--lang", "en", "deploy", "keys", publics[0],
                 str(other.parent / "public-keys.json"), "--out", str(out)]) == 2
    assert f"node {VILLAGE} is listed twice with different keys" in capsys.readouterr().err
    assert load_directory(out).nodes() == [TOWNSHIP, VILLAGE]  # left as it was


def signing_kid(config: Path) -> str:
    node = bootstrap(config)
    try:
        signer = node.transport.signer  # type: ignore[attr-defined]
        return str(signer.headers(b"x", EXCHANGE_UP, "33.06.81.111.242")[KID_HEADER])
    finally:
        node.close()


def test_node_keys_adds_rotates_and_drops(station: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder, secrets_file = station.parent, station.parent / "secrets.toml"
    config = ["--lang", "en", "--config", str(station)]
    old = key_id(load_signing_key(read_secrets(secrets_file)["signing_key"]))
    assert main(["node", "keys", "--rotate", "--retire-after", "2026-02-01", *config]) == 0
    assert "2 message key pair(s)" in capsys.readouterr().out
    secrets = read_secrets(secrets_file)
    new, older = (key_id(k) for k in load_signing_keys(secrets["signing_key"]))
    assert older == old
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    listed = json.loads((folder / "public-keys.json").read_text())["nodes"][VILLAGE]
    assert [e["kid"] for e in listed] == [old, new]
    assert listed[0]["not_after"] == "2026-02-01T23:59:59+08:00"
    # Until the network's keys.json lists the new key, the node signs with the old one ...
    assert signing_kid(station) == old
    (folder / "keys.json").write_bytes((folder / "public-keys.json").read_bytes())
    assert signing_kid(station) == new  # ... and with the new one once it does.
    assert main(["node", "keys", "--drop-old", *config]) == 0
    assert [key_id(k) for k in load_signing_keys(read_secrets(secrets_file)["signing_key"])] \
        == [new]
    without_message_keys(station)  # a node set up before issue 15
    assert main(["node", "keys", *config]) == 0
    assert "(a fresh pair added)" in capsys.readouterr().out
    assert load_directory(folder / "public-keys.json").keys_of(VILLAGE)[0].kid not in (old, new)
