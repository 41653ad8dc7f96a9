"""The balance: what is on it, its history, and charging it."""

from __future__ import annotations

import hashlib
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from boxoffice.api import AppSettings, Db
from boxoffice.errors import DomainError
from boxoffice.idempotency.http import Replayed, claimed
from boxoffice.pagination import PageRequest
from boxoffice.users import service as users
from boxoffice.web import forms, messages
from boxoffice.web.rendering import gettext_for, render
from boxoffice.web.routing import CsrfChecked, FanId, PageRoute, redirect, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)

HISTORY_SHOWN = 50
PRESETS = (50_000, 100_000, 200_000)


@router.get("/balance")
async def balance_page(
    request: Request, user_id: FanId, db: Db, next: str = "", charged: int | None = None
) -> Response:
    return await _page(request, db, user_id, next=next, charged=charged)


async def _page(
    request: Request,
    db: Db,
    user_id: int,
    next: str = "",
    charged: int | None = None,
    error: str | None = None,
    status: int = 200,
    amount: str = "",
) -> Response:
    balance = await users.get_balance(db, user_id)
    history = await users.point_history(db, user_id, PageRequest(limit=HISTORY_SHOWN, after=None))
    gettext = gettext_for(request)
    notice = None
    if charged is not None and charged > 0:
        notice = gettext(messages.CHARGED)
    return render(
        request,
        "balance.html",
        status=status,
        balance=balance.balance,
        history=history.items,
        next=safe_next(next, ""),
        notice=notice,
        notice_query="charged",
        error=error,
        amount=amount,
        presets=PRESETS,
        # Sent back with the form: a second submission of the same form charges once.
        charge_key=secrets.token_urlsafe(18),
    )


@router.post("/balance/charge", dependencies=[CsrfChecked])
async def charge(
    request: Request,
    user_id: FanId,
    db: Db,
    settings: AppSettings,
    amount: Annotated[str, Form(max_length=40)] = "",
    charge_key: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    gettext = gettext_for(request)
    value = forms.whole_number(amount, 1, settings.max_charge)
    if value is None:
        error = gettext(messages.CHARGE_RANGE) % {"max": f"{settings.max_charge:,}"}
        return await _page(request, db, user_id, next, error=error, status=422, amount=amount)
    fingerprint = hashlib.sha256(f"web-charge:{value}".encode()).hexdigest()
    key = f"web-charge:{charge_key}" if charge_key else None
    try:
        async with claimed(db, user_id, key, fingerprint, 200) as recorder:
            await users.charge(db, settings, user_id, value, recorder)
    except Replayed:
        pass  # The same form sent again: it charged once, the first time.
    except DomainError as error:
        text = messages.explain(error, gettext)
        return await _page(request, db, user_id, next, error=text, status=error.status)
    if safe_next(next, ""):
        return redirect(safe_next(next))
    return redirect(f"/balance?charged={value}")
