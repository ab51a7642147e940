"""Accounts: sign up, log in, log out, settings (email, password, API token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..exceptions import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from ..types import User
from .deps import Actor, CsrfChecked, HubDep, Member, Viewer, client_key, safe_next
from .render import render
from .security import SESSION_COOKIE, renew_csrf, set_cookies

Text = Annotated[str, Form()]


def _logged_in(request: Request, token: str, next_url: str) -> Response:
    renew_csrf(request)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    state = request.app.state
    set_cookies(
        request,
        response,
        secure=state.secure_cookies,
        session=token,
        session_days=state.hub.settings.session_days,
    )
    return response


def _signups_open(hub: HubDep) -> None:
    if not hub.settings.allow_signups:
        raise PermissionDeniedError(
            "sign-ups are closed on this site: ask an admin for an account"
        )


def signup_form(
    request: Request, hub: HubDep, viewer: Viewer, next: str = "/"
) -> HTMLResponse:
    _signups_open(hub)
    return render(
        request,
        "signup.html",
        {"error": None, "name": "", "email": "", "next": safe_next(next)},
    )


def signup(
    request: Request,
    hub: HubDep,
    _: CsrfChecked,
    name: Text = "",
    email: Text = "",
    password: Text = "",
    next: Text = "/",
) -> Response:
    _signups_open(hub)
    request.app.state.limiter.hit("signups", client_key(request))
    try:
        hub.create_user(name, password, email=email or None)
    except (InvalidInputError, ConflictError) as e:
        return render(
            request,
            "signup.html",
            {"error": str(e), "name": name, "email": email, "next": safe_next(next)},
            status=400,
        )
    _, token = hub.log_in(name, password)
    return _logged_in(request, token, next)


def login_form(request: Request, viewer: Viewer, next: str = "/") -> HTMLResponse:
    return render(
        request, "login.html", {"error": None, "login": "", "next": safe_next(next)}
    )


def login(
    request: Request,
    hub: HubDep,
    _: CsrfChecked,
    login: Text = "",
    password: Text = "",
    next: Text = "/",
) -> Response:
    request.app.state.limiter.hit("logins", client_key(request))
    throttle = request.app.state.login_throttle
    throttle.attempt(login)  # 429 while this account waits after failed log-ins
    try:
        _, token = hub.log_in(login, password)
    except AuthenticationError as e:
        return render(
            request,
            "login.html",
            {"error": str(e), "login": login, "next": safe_next(next)},
            status=401,
        )
    throttle.succeeded(login)
    return _logged_in(request, token, next)


def logout(request: Request, hub: HubDep, _: CsrfChecked) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        hub.log_out(token)
    renew_csrf(request)
    request.state.viewer = None
    response = RedirectResponse("/", status_code=303)
    set_cookies(request, response, secure=request.app.state.secure_cookies, session="")
    return response


def _settings(
    request: Request, hub: HubDep, user: User, status: int = 200, **extra: object
) -> HTMLResponse:
    ctx = {
        "user": user,
        "has_token": hub.has_api_token(user),
        "new_token": None,
        "message": None,
        "error": None,
        "form": None,
        "subscriptions": hub.get_subscriptions(user),
        "has_feed_token": hub.has_feed_token(user),
    }
    return render(request, "settings.html", ctx | extra, status=status)


def settings_page(request: Request, hub: HubDep, user: Member) -> HTMLResponse:
    return _settings(request, hub, user)


def settings_profile(
    request: Request, hub: HubDep, user: Actor, email: Text = ""
) -> HTMLResponse:
    try:
        user = hub.set_email(user, email)
    except (InvalidInputError, ConflictError) as e:
        return _settings(request, hub, user, 400, error=str(e), form="profile")
    request.state.viewer = user
    return _settings(request, hub, user, message="Profile saved.", form="profile")


def settings_password(
    request: Request, hub: HubDep, user: Actor, current: Text = "", new: Text = ""
) -> HTMLResponse:
    try:
        hub.change_password(
            user, current, new, keep_session=request.cookies.get(SESSION_COOKIE)
        )
    except (InvalidInputError, AuthenticationError) as e:
        return _settings(request, hub, user, 400, error=str(e), form="password")
    return _settings(
        request,
        hub,
        user,
        message="Password changed; your other sessions were logged out.",
        form="password",
    )


def settings_token(
    request: Request, hub: HubDep, user: Actor, action: Text = "new"
) -> HTMLResponse:
    if action == "revoke":
        hub.revoke_api_token(user)
        return _settings(request, hub, user, message="API token revoked.", form="token")
    return _settings(
        request, hub, user, new_token=hub.new_api_token(user), form="token"
    )


# -- password reset by email (Hub.request_password_reset; digest/reset.py) ---------------------


def reset_request_form(request: Request, viewer: Viewer) -> HTMLResponse:
    return render(request, "password_reset.html", {"step": "ask", "error": None, "login": ""})


def reset_request(
    request: Request, hub: HubDep, _: CsrfChecked, login: Text = ""
) -> HTMLResponse:
    request.app.state.limiter.hit("signups", client_key(request))  # it sends email
    try:
        if not login.strip():
            raise InvalidInputError("give your user name or email address")
        hub.request_password_reset(login)
    except InvalidInputError as e:
        ctx = {"step": "ask", "error": str(e), "login": login}
        return render(request, "password_reset.html", ctx, status=400)
    # The same answer whether or not there is such an account, and no claim that mail went out.
    minutes = hub.settings.password_reset_minutes
    return render(request, "password_reset.html", {"step": "asked", "error": None, "login": login, "minutes": minutes})


def reset_form(request: Request, hub: HubDep, viewer: Viewer, token: str) -> HTMLResponse:
    try:
        user = hub.password_reset_user(token)
    except InvalidInputError as e:
        ctx = {"step": "bad", "error": str(e), "login": ""}
        return render(request, "password_reset.html", ctx, status=400)
    return render(request, "password_reset.html", {"step": "set", "error": None, "token": token, "name": user.name})


def reset(
    request: Request, hub: HubDep, _: CsrfChecked, token: str, new: Text = ""
) -> HTMLResponse:
    try:
        user = hub.reset_password(token, new)
    except InvalidInputError as e:
        try:
            name = hub.password_reset_user(token).name
        except InvalidInputError:  # the link itself is bad: no form to show again
            ctx = {"step": "bad", "error": str(e), "login": ""}
            return render(request, "password_reset.html", ctx, status=400)
        ctx = {"step": "set", "error": str(e), "token": token, "name": name}
        return render(request, "password_reset.html", ctx, status=400)
    return render(request, "password_reset.html", {"step": "done", "error": None, "name": user.name})
