"""The accounts page and "change my password" (issue 17): what the committee head may do, what
everyone else is refused, the head who cannot lock themself out, bad input beside its field with
nothing written, and log lines that say who changed what for whom but never a password."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from nodes.store import users
from nodes.web.accounts import MAX_FAILED_LOGINS, password_matches
from tests.unit.web_support import PASSWORD, Site, site

__all__ = ["site"]
NEW = "a-brand-new-pass"


def row(site: Site, name: str) -> users.UserRow:
    found = users.user(site.node.store, name)
    assert found is not None
    return found


def send(site: Site, path: str, data: dict[str, str | list[str]],
         page: str = "/users") -> httpx.Response:
    """A form posted as a browser does, with the CSRF token of `page`."""
    answer: httpx.Response = site.client.post(
        path, data={**data, "csrf_token": site.token(page)}, follow_redirects=False)
    return answer


@pytest.fixture
def head(site: Site) -> Site:
    """The committee head `zhang` logged in (pages in English), and a mediator `wang`."""
    site.add_user("zhang", "station_head")
    site.add_user("wang", "mediator")
    site.login("zhang")
    site.english()
    return site


def test_the_head_sees_every_account_and_the_link(head: Site) -> None:
    page = head.client.get("/users")
    assert page.status_code == 200
    assert "wang" in page.text
    assert "zhang" in page.text
    assert 'href="/users"' in head.client.get("/").text
    assert 'href="/account/password"' in page.text


def test_add_an_account_with_roles_and_log_it_without_the_password(head: Site) -> None:
    with capture_logs() as logs:
        answer = send(head, "/users/add", {"name": "李明", "roles": ["mediator", "grid_worker"],
                                           "password": NEW, "password2": NEW})
    assert answer.status_code == 303
    added = row(head, "李明")
    assert added.roles == "mediator,grid_worker"
    assert password_matches(NEW, added.password_hash)
    entry = next(e for e in logs if e["event"] == "web.user_added")
    assert (entry["by"], entry["account"]) == ("zhang", "李明")
    assert NEW not in repr(logs)
    assert NEW not in answer.headers["location"]
    assert "李明" not in answer.headers["location"]  # no name in a URL
    assert "The account was added." in head.client.get(answer.headers["location"]).text


@pytest.mark.parametrize(("data", "field", "sentence"), [
    ({"name": "li ming", "roles": ["mediator"], "password": NEW, "password2": NEW},
     "new-name-error", "characters without spaces"),
    ({"name": "li", "password": NEW, "password2": NEW}, "new-roles-error",
     "Choose at least one role."),
    ({"name": "li", "roles": ["boss"], "password": NEW, "password2": NEW}, "new-roles-error",
     "is not a role"),
    ({"name": "li", "roles": ["mediator"], "password": "short", "password2": "short"},
     "new-password-error", "a password needs 8 to 200 characters"),
    ({"name": "li", "roles": ["mediator"], "password": NEW, "password2": NEW + "x"},
     "new-password2-error", "The two passwords differ."),
    ({"name": "wang", "roles": ["mediator"], "password": NEW, "password2": NEW},
     "new-name-error", "There is already an account with this name."),
])
def test_bad_input_is_shown_beside_its_field_and_nothing_is_written(
        head: Site, data: dict[str, str | list[str]], field: str, sentence: str) -> None:
    before = users.users(head.node.store)
    answer = send(head, "/users/add", data)
    assert answer.status_code == 400
    assert f'id="{field}"' in answer.text
    assert sentence in answer.text.split(f'id="{field}"')[1].split("</p>")[0]
    assert NEW not in answer.text  # a password never goes back to the page
    assert users.users(head.node.store) == before


def test_disable_logs_the_person_out_and_enable_lets_them_back(head: Site) -> None:
    with TestClient(head.client.app, base_url="http://127.0.0.1") as other:
        Site(head.node, other, head.clock).login("wang")
        assert other.get("/", follow_redirects=False).status_code == 200
        with capture_logs() as logs:
            assert send(head, "/users/disable", {"name": "wang"}).status_code == 303
        assert other.get("/", follow_redirects=False).headers["location"] == "/login"
    assert row(head, "wang").disabled
    assert [(e["by"], e["account"]) for e in logs if e["event"] == "web.user_disabled"] == \
        [("zhang", "wang")]
    assert send(head, "/users/enable", {"name": "wang"}).status_code == 303
    assert not row(head, "wang").disabled


def test_change_roles(head: Site) -> None:
    with capture_logs() as logs:
        assert send(head, "/users/roles", {"name": "wang", "roles": ["mediator", "auditor"]}
                    ).status_code == 303
    assert row(head, "wang").roles == "mediator,auditor"
    entry = next(e for e in logs if e["event"] == "web.user_roles_changed")
    assert (entry["roles_before"], entry["roles"]) == ("mediator", "mediator,auditor")
    answer = send(head, "/users/roles", {"name": "wang"})
    assert answer.status_code == 400
    assert "Choose at least one role." in answer.text
    assert row(head, "wang").roles == "mediator,auditor"


def test_reset_a_password_and_unlock_a_locked_account(head: Site) -> None:
    assert 'action="/users/unlock"' not in head.client.get("/users").text
    users.login_failed(head.node.store, "wang", head.clock.now() + timedelta(minutes=15))
    assert 'action="/users/unlock"' in head.client.get("/users").text
    assert send(head, "/users/unlock", {"name": "wang"}).status_code == 303
    assert row(head, "wang").locked_until is None
    assert row(head, "wang").failed_logins == 0
    with capture_logs() as logs:
        assert send(head, "/users/password", {"name": "wang", "password": NEW, "password2": NEW}
                    ).status_code == 303
    assert password_matches(NEW, row(head, "wang").password_hash)
    assert [e["account"] for e in logs if e["event"] == "web.user_password_reset"] == ["wang"]
    assert NEW not in repr(logs)
    mismatch = send(head, "/users/password", {"name": "wang", "password": "x" * 9,
                                               "password2": "y" * 9})
    assert mismatch.status_code == 400
    assert "The two passwords differ." in mismatch.text
    assert password_matches(NEW, row(head, "wang").password_hash)


def test_the_head_cannot_disable_themself_or_drop_their_own_head_role(head: Site) -> None:
    answer = send(head, "/users/disable", {"name": "zhang"})
    assert answer.status_code == 409
    assert "no one would be left to manage the accounts" in answer.text
    assert not row(head, "zhang").disabled
    answer = send(head, "/users/roles", {"name": "zhang", "roles": ["mediator"]})
    assert answer.status_code == 409
    assert row(head, "zhang").roles == "station_head"
    # keeping the head role while adding another is fine, and the session follows
    assert send(head, "/users/roles", {"name": "zhang", "roles": ["mediator", "station_head"]}
                ).status_code == 303
    assert row(head, "zhang").roles == "mediator,station_head"
    assert head.client.get("/users").status_code == 200


def test_at_a_hub_the_centre_head_holds_station_head_beside_hub_staff(site: Site) -> None:
    site.add_user("zhao", "hub_staff,station_head")
    site.login("zhao")
    assert site.client.get("/users").status_code == 200
    assert 'href="/cases/new"' in site.client.get("/").text  # and still records as hub staff


@pytest.mark.parametrize("roles", ["mediator", "hub_staff", "auditor", "grid_worker,leader"])
def test_every_other_role_is_refused(site: Site, roles: str) -> None:
    site.add_user("wang", roles)
    site.login("wang")
    assert site.client.get("/users").status_code == 403
    assert 'href="/users"' not in site.client.get("/").text
    for path in ("/users/add", "/users/disable", "/users/password", "/users/unlock",
                 "/users/roles", "/users/enable"):
        answer = send(site, path, {"name": "wang", "roles": ["station_head"], "password": NEW,
                                   "password2": NEW}, page="/")
        assert answer.status_code == 403, path
    assert row(site, "wang").roles == roles
    assert not password_matches(NEW, row(site, "wang").password_hash)


def test_forms_without_the_csrf_token_are_refused(head: Site) -> None:
    for path in ("/users/add", "/users/disable", "/users/password", "/account/password"):
        answer = head.client.post(path, data={"name": "wang", "csrf_token": "forged",
                                              "password": NEW, "password2": NEW,
                                              "current": PASSWORD}, follow_redirects=False)
        assert answer.status_code == 403, path
    assert not row(head, "wang").disabled
    assert password_matches(PASSWORD, row(head, "wang").password_hash)


def test_anyone_changes_their_own_password_with_the_current_one(site: Site) -> None:
    site.add_user("wang", "auditor")
    site.login("wang")
    site.english()
    wrong = send(site, "/account/password", {"current": "not-my-password", "password": NEW,
                                             "password2": NEW}, page="/account/password")
    assert wrong.status_code == 400
    assert "This is not your current password." in wrong.text
    assert password_matches(PASSWORD, row(site, "wang").password_hash)
    with capture_logs() as logs:
        good = send(site, "/account/password", {"current": PASSWORD, "password": NEW,
                                                "password2": NEW}, page="/account/password")
    assert good.status_code == 303
    assert password_matches(NEW, row(site, "wang").password_hash)
    assert [e["account"] for e in logs if e["event"] == "web.own_password_changed"] == ["wang"]
    assert NEW not in repr(logs)
    assert PASSWORD not in repr(logs)
    assert "Your new password is set." in site.client.get(good.headers["location"]).text


def test_wrong_current_passwords_count_toward_the_lockout(site: Site) -> None:
    site.add_user("wang", "mediator")
    site.login("wang")
    for _ in range(MAX_FAILED_LOGINS):
        send(site, "/account/password", {"current": "guess-guess", "password": NEW,
                                         "password2": NEW}, page="/account/password")
    assert row(site, "wang").locked_until is not None
    assert password_matches(PASSWORD, row(site, "wang").password_hash)


def test_a_login_records_its_time_and_a_failed_one_does_not(site: Site) -> None:
    site.add_user("wang", "mediator")
    assert row(site, "wang").last_login_at is None
    assert site.login("wang", "not-the-password") == 401
    assert row(site, "wang").last_login_at is None
    at = site.clock.advance(hours=1)
    assert site.login("wang") == 303
    assert row(site, "wang").last_login_at == at.isoformat()
    site.clock.advance(hours=1)
    assert site.login("wang", "not-the-password") == 401
    assert row(site, "wang").last_login_at == at.isoformat()  # a later failure changes nothing


def test_the_accounts_page_shows_each_last_login_in_beijing_time(head: Site) -> None:
    head.add_user("li", "mediator")
    users.login_succeeded(head.node.store, "li", datetime(2026, 3, 3, 2, 30, tzinfo=UTC))
    page = head.client.get("/users").text
    assert "Last login" in page
    rows = [re.findall(r"<td>(.*?)</td>", tr, re.S) for tr in page.split("<tr>")[2:]]
    cells = {r[0].split()[0]: r[3].strip() for r in rows}  # name: its "last login" cell
    assert cells["zhang"] == "2026-03-02 09:00"  # logged in at the clock's start, Beijing time
    assert cells["li"] == "2026-03-03 10:30"  # stored in UTC, shown in Beijing time
    assert cells["wang"] == "—"  # never logged in
