"""Sign up, log in, log out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from boxoffice.api import AppSettings, Db
from boxoffice.errors import DomainError
from boxoffice.rate_limits import AuthRateLimit
from boxoffice.users import service as users
from boxoffice.users.schemas import SignUp
from boxoffice.web import messages, session
from boxoffice.web.rendering import gettext_for, render
from boxoffice.web.routing import CsrfChecked, PageRoute, redirect, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Text = Annotated[str, Form(max_length=400)]
Next = Annotated[str, Form(max_length=2000)]


@router.get("/signup")
async def signup_form(request: Request, next: str = "/") -> Response:
    return render(request, "signup.html", next=safe_next(next), name="", email="")


@router.post("/signup", dependencies=[CsrfChecked, AuthRateLimit])
async def signup(
    request: Request,
    db: Db,
    settings: AppSettings,
    name: Text = "",
    email: Text = "",
    password: Text = "",
    next: Next = "/",
) -> Response:
    gettext = gettext_for(request)
    try:
        # The API's own rules for a sign-up, so that the page and the API agree.
        form = SignUp(name=name, email=email, password=password)
        signed_up = await users.sign_up(db, settings, form.name, form.email, form.password)
    except ValidationError as invalid:
        error = gettext(_first_problem(invalid))
    except DomainError as refusal:
        error = messages.explain(refusal, gettext)
    else:
        response = redirect(safe_next(next))
        session.start_session(request, response, signed_up.access_token)
        return response
    return render(
        request,
        "signup.html",
        status=422,
        error=error,
        next=safe_next(next),
        name=name,
        email=email,
    )


_FIELD_PROBLEMS = {
    "name": messages.N_("Please enter your name (at most 100 characters)."),
    "email": messages.N_("Please enter a valid email address."),
    "password": messages.N_("The password needs 8 to 128 characters."),
}


def _first_problem(invalid: ValidationError) -> str:
    for problem in invalid.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        if field in _FIELD_PROBLEMS:
            return _FIELD_PROBLEMS[field]
    return messages.N_("Some of what you entered is not valid. Please check it.")


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), email="")


@router.post("/login", dependencies=[CsrfChecked, AuthRateLimit])
async def login(
    request: Request,
    db: Db,
    settings: AppSettings,
    email: Text = "",
    password: Text = "",
    next: Next = "/",
) -> Response:
    try:
        token = await users.log_in(db, settings, email.strip(), password)
    except DomainError as error:
        return render(
            request,
            "login.html",
            status=error.status,
            error=messages.explain(error, gettext_for(request)),
            next=safe_next(next),
            email=email,
        )
    response = redirect(safe_next(next))
    session.start_session(request, response, token.access_token)
    return response


@router.get("/logout")
async def logout() -> Response:
    # A link, as the navigation promises. Logging someone out is all a forged request could do.
    response = redirect("/")
    session.end_session(response)
    return response
