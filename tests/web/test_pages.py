"""The pages over HTTP, in process, on both databases: language, time zone, cross-site
protection, errors in words, the operator's entry. The browser tests drive the flows."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

import httpx

from tests import api
from tests.conftest import ADMIN_KEY, ClientFactory

ROOT = "http://testserver"


async def _client(make_client: ClientFactory) -> httpx.AsyncClient:
    client = await make_client()
    client.base_url = httpx.URL(f"{ROOT}/api/v1/")
    return client


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no form token"
    return found.group(1)


async def _signed_in(client: httpx.AsyncClient) -> dict[str, Any]:
    """A fan logged in through the log-in form: the client keeps the session cookie."""
    user = await api.sign_up(client)
    form = await client.get(f"{ROOT}/login")
    response = await client.post(
        f"{ROOT}/login",
        data={"email": user["email"], "password": user["password"], "csrf_token": _csrf(form)},
    )
    assert response.status_code == 303, response.text
    return user


async def test_home_links_every_concert_by_its_title(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    concert = await api.create_concert(client, title="Spring <Jazz> Night")
    await api.create_schedule(client, concert["id"], seat_count=7)
    page = await client.get(f"{ROOT}/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f'<a href="/concerts/{concert["id"]}">Spring &lt;Jazz&gt; Night</a>' in page.text
    assert "7 seats left" in page.text


async def test_korean_by_accept_language_and_by_the_switch(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    korean = await client.get(f"{ROOT}/", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert '<html lang="ko">' in korean.text and "공연" in korean.text
    english = await client.get(f"{ROOT}/", headers={"Accept-Language": "fr, en;q=0.5"})
    assert '<html lang="en">' in english.text and "Concerts" in english.text
    switched = await client.get(f"{ROOT}/language/ko?next=/concerts/1")
    assert switched.status_code == 303 and switched.headers["location"] == "/concerts/1"
    chosen = await client.get(f"{ROOT}/", headers={"Accept-Language": "en"})
    assert '<html lang="ko">' in chosen.text and "공연" in chosen.text


async def test_the_language_switch_never_leaves_the_site(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await client.get(f"{ROOT}/language/en", params={"next": target})
        assert response.headers["location"] == "/"


def _switch_target(page: httpx.Response, language: str = "ko") -> str:
    """Where the page's language switch leads back to (its `next`)."""
    found = re.search(rf'href="/language/{language}\?next=([^"]*)"', page.text)
    assert found, "the page has no language switch"
    return unquote(html.unescape(found.group(1)))


async def test_the_language_switch_keeps_the_query_but_not_what_is_said_once(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    await _signed_in(client)
    page = await client.get(f"{ROOT}/balance?next=/checkout/5")
    assert _switch_target(page) == "/balance?next=%2Fcheckout%2F5"
    switched = await client.get(f"{ROOT}/language/ko", params={"next": _switch_target(page)})
    assert switched.headers["location"] == "/balance?next=%2Fcheckout%2F5"
    back = await client.get(f"{ROOT}{switched.headers['location']}")
    assert back.status_code == 200 and 'href="/checkout/5"' in back.text
    # A notice said once (`charged`) is not said again in the other language.
    assert _switch_target(await client.get(f"{ROOT}/balance?charged=5")) == "/balance"
    assert _switch_target(await client.get(f"{ROOT}/?x=1&charged=5")) == "/?x=1&charged=5"


async def test_the_language_switch_of_a_page_answered_to_a_form_leads_to_a_page(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    await _signed_in(client)
    token = _csrf(await client.get(f"{ROOT}/balance"))
    charge = f"{ROOT}/balance/charge"
    # The page the form was on, from the Referer when it is this site's and a page.
    for referer, target in (
        (f"{ROOT}/balance?next=/checkout/5", "/balance?next=/checkout/5"),
        (None, "/balance"),
        ("https://evil.example/balance?x=1", "/balance"),
        (f"{ROOT}/balance/charge", "/balance"),  # a form's address again: no page
        ("//evil.example/", "/balance"),
    ):
        headers = {"Referer": referer} if referer else {}
        failed = await client.post(
            charge, data={"amount": "abc", "csrf_token": token}, headers=headers
        )
        assert failed.status_code == 422
        assert _switch_target(failed) == target, referer
        switched = await client.get(f"{ROOT}/language/ko", params={"next": target})
        shown = await client.get(f"{ROOT}{switched.headers['location']}")
        assert shown.status_code == 200 and '<html lang="ko">' in shown.text
    # Without a Referer: the nearest page above the form's address, else home.
    admin_token = _csrf(await client.get(f"{ROOT}/admin"))
    await client.post(f"{ROOT}/admin", data={"admin_key": ADMIN_KEY, "csrf_token": admin_token})
    for path, target in (
        ("/checkout/5/pay", "/checkout/5"),
        ("/tickets/5/cancel", "/tickets"),
        ("/concerts/5/line", "/concerts/5"),
        ("/concerts/5/seats/6/hold", "/concerts/5/seats"),
        ("/admin/concerts/5/schedules", "/admin/concerts/5"),
    ):
        refused = await client.post(f"{ROOT}{path}", data={"csrf_token": "forged"})
        assert refused.status_code == 403, path
        assert _switch_target(refused) == target, path


async def test_times_are_in_the_visitors_zone_and_seoul_when_unknown(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    concert = await api.create_concert(client)
    from datetime import UTC, datetime

    await api.create_schedule(
        client, concert["id"], start_time=datetime(2031, 3, 14, 10, 0, tzinfo=UTC)
    )
    seoul = await client.get(f"{ROOT}/concerts/{concert['id']}")
    assert "Mar 14, 2031, 7:00" in seoul.text
    client.cookies.set("boxoffice_tz", "America/New_York")
    new_york = await client.get(f"{ROOT}/concerts/{concert['id']}")
    assert "Mar 14, 2031, 6:00" in new_york.text
    client.cookies.set("boxoffice_tz", "Not/AZone")
    assert "7:00" in (await client.get(f"{ROOT}/concerts/{concert['id']}")).text


async def test_a_form_without_its_token_changes_nothing(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    user = await _signed_in(client)
    token = _csrf(await client.get(f"{ROOT}/balance"))
    forged = await client.post(f"{ROOT}/balance/charge", data={"amount": "5000"})
    assert forged.status_code == 403
    assert "This form expired" in forged.text
    wrong = await client.post(
        f"{ROOT}/balance/charge", data={"amount": "5000", "csrf_token": token + "x"}
    )
    assert wrong.status_code == 403
    elsewhere = await client.post(
        f"{ROOT}/balance/charge",
        data={"amount": "5000", "csrf_token": token},
        headers={"Origin": "https://evil.example"},
    )
    assert elsewhere.status_code == 403
    balance = await client.get("users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 0


async def test_one_charge_form_sent_twice_charges_once(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    user = await _signed_in(client)
    form = await client.get(f"{ROOT}/balance")
    key = re.search(r'name="charge_key" value="([^"]+)"', form.text)
    assert key
    fields = {"amount": "50,000", "csrf_token": _csrf(form), "charge_key": key.group(1)}
    for _ in range(2):
        sent = await client.post(f"{ROOT}/balance/charge", data=fields)
        assert sent.status_code == 303
    balance = await client.get("users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 50_000
    page = await client.get(f"{ROOT}/balance")
    assert "50,000 won" in page.text


async def test_a_bad_amount_is_explained_and_charges_nothing(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    user = await _signed_in(client)
    token = _csrf(await client.get(f"{ROOT}/balance"))
    for amount in ("", "-5", "abc", "99999999999999"):
        response = await client.post(
            f"{ROOT}/balance/charge", data={"amount": amount, "csrf_token": token}
        )
        assert response.status_code == 422
        assert "Enter an amount in won between 1 and 10,000,000." in response.text
    balance = await client.get("users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 0


async def test_errors_are_pages_in_words(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    for path in ("/concerts/999999", "/concerts/nope", "/concerts/99999999999999999999999"):
        response = await client.get(f"{ROOT}{path}")
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "There is no such concert." in response.text or "does not exist" in response.text


async def test_fan_pages_send_a_stranger_to_log_in(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    for path in ("/balance", "/tickets", "/checkout/1", "/concerts/1/seats"):
        response = await client.get(f"{ROOT}{path}")
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"


async def test_the_operator_enters_with_the_key_only(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    assert (await client.get(f"{ROOT}/admin/concerts")).headers["location"] == "/admin"
    token = _csrf(await client.get(f"{ROOT}/admin"))
    wrong = await client.post(f"{ROOT}/admin", data={"admin_key": "guess", "csrf_token": token})
    assert wrong.status_code == 401 and "That admin key is not right." in wrong.text
    assert (await client.get(f"{ROOT}/admin/concerts")).status_code == 303
    right = await client.post(f"{ROOT}/admin", data={"admin_key": ADMIN_KEY, "csrf_token": token})
    assert right.status_code == 303
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert (await client.get(f"{ROOT}/admin/concerts")).status_code == 200
    # A fan's session is no operator's.
    client.cookies.delete("boxoffice_admin")
    await _signed_in(client)
    assert (await client.get(f"{ROOT}/admin/concerts")).status_code == 303


async def test_an_unknown_page_is_a_page_and_an_unknown_api_path_stays_json(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    page = await client.get(f"{ROOT}/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "This page does not exist." in page.text
    api_path = await client.get(f"{ROOT}/api/v1/nothing", headers={"Accept": "text/html"})
    assert api_path.status_code == 404
    assert api_path.headers["content-type"] == "application/problem+json"


async def test_sign_up_problems_are_explained_and_create_nobody(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    taken = await api.sign_up(client)
    token = _csrf(await client.get(f"{ROOT}/signup"))
    cases = {
        ("", "a@example.com", "long enough"): "Please enter your name",
        ("Kim", "not-an-email", "long enough"): "Please enter a valid email address.",
        ("Kim", "kim@example.com", "short"): "The password needs 8 to 128 characters.",
        ("Kim", taken["email"], "long enough"): "An account with this email already exists.",
    }
    for (name, email, password), message in cases.items():
        response = await client.post(
            f"{ROOT}/signup",
            data={"name": name, "email": email, "password": password, "csrf_token": token},
        )
        assert response.status_code == 422, (name, email)
        assert message in response.text
        assert "boxoffice_session" not in response.headers.get("set-cookie", "")
    refused = await api.log_in(client, "kim@example.com", "short")
    assert refused.status_code == 401


async def test_log_out_ends_the_session(make_client: ClientFactory) -> None:
    client = await _client(make_client)
    await _signed_in(client)
    assert (await client.get(f"{ROOT}/balance")).status_code == 200
    out = await client.get(f"{ROOT}/logout")
    assert out.status_code == 303
    assert (await client.get(f"{ROOT}/balance")).status_code == 303


async def test_the_operator_sets_a_sale_opening_in_their_zone_and_sees_the_line(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    token = _csrf(await client.get(f"{ROOT}/admin"))
    await client.post(f"{ROOT}/admin", data={"admin_key": ADMIN_KEY, "csrf_token": token})
    client.cookies.set("boxoffice_tz", "Europe/Paris")
    created = await client.post(
        f"{ROOT}/admin/concerts",
        data={
            "title": "Paris Rehearsal",
            "duration_minutes": "90",
            "sale_opens_at": "2031-06-01T10:00",
            "csrf_token": token,
        },
    )
    assert created.status_code == 303
    concert_page = await client.get(f"{ROOT}{created.headers['location']}")
    assert "Sales open at" in concert_page.text and "Jun 1, 2031, 10:00" in concert_page.text
    assert "The line" in concert_page.text and "waiting" in concert_page.text
    concert = (await client.get("concerts")).json()["items"][0]
    assert concert["sale_opens_at"].startswith("2031-06-01T08:00")  # 10:00 in Paris, in UTC


async def test_log_in_attempts_are_limited_per_address_and_say_so(
    make_client: ClientFactory,
) -> None:
    client = await make_client(rate_limit_auth="2/minute")
    client.base_url = httpx.URL(f"{ROOT}/api/v1/")
    token = _csrf(await client.get(f"{ROOT}/login"))
    answers = [
        await client.post(
            f"{ROOT}/login",
            data={"email": "nobody@example.com", "password": "guess-guess", "csrf_token": token},
        )
        for _ in range(3)
    ]
    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert "Too many tries" in answers[2].text


async def test_the_operator_cancels_a_date_only_through_the_confirmation_form(
    make_client: ClientFactory,
) -> None:
    client = await _client(make_client)
    token = _csrf(await client.get(f"{ROOT}/admin"))
    await client.post(f"{ROOT}/admin", data={"admin_key": ADMIN_KEY, "csrf_token": token})
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"])
    cancel = f"{ROOT}/admin/schedules/{schedule['id']}/cancel"

    forged = await client.post(cancel, data={"csrf_token": token + "x"})
    assert forged.status_code == 403
    assert (await client.get(f"schedules/{schedule['id']}")).json()["status"] == "ON_SALE"

    form = await client.get(cancel)
    assert form.status_code == 200
    assert re.search(r"<button[^>]*>Cancel schedule</button>", form.text)
    done = await client.post(cancel, data={"csrf_token": _csrf(form)})
    assert done.status_code == 303
    assert done.headers["location"] == f"/admin/concerts/{concert['id']}?cancelled=1"
    assert (await client.get(f"schedules/{schedule['id']}")).json()["status"] == "CANCELLED"
    # A cancelled date offers no confirmation again, and a repeated form changes nothing.
    again = await client.get(cancel)
    assert again.status_code == 303
    assert again.headers["location"] == f"/admin/concerts/{concert['id']}"
    assert (await client.post(cancel, data={"csrf_token": token})).status_code == 303
    missing = await client.get(f"{ROOT}/admin/schedules/{schedule['id'] + 100}/cancel")
    assert missing.status_code == 404 and "There is no such date." in missing.text
