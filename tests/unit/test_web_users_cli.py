"""`fengqiao user add/list/disable/enable/passwd` (issue 17): the password never an argument,
bad input one sentence with exit 2 and nothing written, the hash Argon2id."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fengqiao.main import main
from nodes.config import load_config
from nodes.store import users
from nodes.store.sqlite_store import SqliteStore
from tests.support.nodes import write_config

VILLAGE = "330106001001"


def fengqiao(monkeypatch: pytest.MonkeyPatch, config: Path, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["--config", str(config), "--lang", "en", *args])


def accounts(config: Path) -> list[users.UserRow]:
    store = SqliteStore(load_config(config).database)
    try:
        return users.users(store)
    finally:
        store.close()


def test_add_list_disable_enable_passwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, VILLAGE)
    assert fengqiao(monkeypatch, config, "user", "add", "王芳", "--roles", "grid_worker,mediator",
                    "--password-stdin", stdin="a-good-password\n") == 0
    row = accounts(config)[0]
    assert row.name == "王芳"
    assert row.roles == "mediator,grid_worker"
    assert row.password_hash.startswith("$argon2id$")
    assert "a-good-password" not in row.password_hash
    assert fengqiao(monkeypatch, config, "user", "disable", "王芳") == 0
    capsys.readouterr()
    assert fengqiao(monkeypatch, config, "user", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out)[0]["disabled"] is True
    assert fengqiao(monkeypatch, config, "user", "enable", "王芳") == 0
    assert fengqiao(monkeypatch, config, "user", "passwd", "王芳", "--password-stdin",
                    stdin="another-password\n") == 0
    assert accounts(config)[0].password_hash != row.password_hash
    assert not accounts(config)[0].disabled


@pytest.mark.parametrize(("args", "stdin"), [
    (("user", "add", "li", "--roles", "boss", "--password-stdin"), "a-good-password\n"),
    (("user", "add", "li", "--roles", "mediator", "--password-stdin"), "short\n"),
    (("user", "add", "l i", "--roles", "mediator", "--password-stdin"), "a-good-password\n"),
    (("user", "passwd", "nobody", "--password-stdin"), "a-good-password\n"),
])
def test_bad_input_is_one_sentence_and_writes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: tuple[str, ...], stdin: str) -> None:
    config = write_config(tmp_path, VILLAGE)
    assert fengqiao(monkeypatch, config, *args, stdin=stdin) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert accounts(config) == []


def test_a_taken_name_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path, VILLAGE)
    add = ("user", "add", "li", "--roles", "mediator", "--password-stdin")
    assert fengqiao(monkeypatch, config, *add, stdin="a-good-password\n") == 0
    assert fengqiao(monkeypatch, config, *add, stdin="other-password\n") == 2
    assert len(accounts(config)) == 1


def test_user_list_shows_the_last_login_in_beijing_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, VILLAGE)
    for name in ("li", "wang"):
        assert fengqiao(monkeypatch, config, "user", "add", name, "--roles", "mediator",
                        "--password-stdin", stdin="a-good-password\n") == 0
    capsys.readouterr()
    assert fengqiao(monkeypatch, config, "user", "list") == 0
    out = capsys.readouterr().out
    assert "last login" in out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("li ")] == ["—"]
    store = SqliteStore(load_config(config).database)
    try:
        users.login_succeeded(store, "li", datetime(2026, 3, 3, 2, 30, tzinfo=UTC))
    finally:
        store.close()
    assert fengqiao(monkeypatch, config, "user", "list") == 0
    li = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("li "))
    assert li.endswith("2026-03-03 10:30")  # stored in UTC, shown in Beijing time
    assert fengqiao(monkeypatch, config, "user", "list", "--json") == 0
    listed = {r["name"]: r["last_login_at"] for r in json.loads(capsys.readouterr().out)}
    assert listed == {"li": "2026-03-03T02:30:00+00:00", "wang": None}
