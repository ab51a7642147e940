"""Email digests on the site: subscribe (anyone, with an email address), confirm and unsubscribe
through signed links (no login), manage subscriptions in settings, preview the next digest.

The link pages need no CSRF token: the signed token in the URL is the credential, and a mail
client's RFC 8058 one-click unsubscribe POSTs ``List-Unsubscribe=One-Click`` without cookies.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..exceptions import ConflictError, InvalidInputError
from .deps import Actor, CsrfChecked, HubDep, Member, Viewer, client_key
from .render import render, site_url

Text = Annotated[str, Form()]


def _topics(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r", "").split("\n") if line.strip()]


def _trending(value: str) -> int:
    if not value.strip().isdigit():
        raise InvalidInputError("the number of trending papers must be a whole number")
    return int(value)


def _count(value: str, what: str) -> int:
    if not value.strip():
        return 0
    if not value.strip().isdigit() or len(value.strip()) > 6:
        raise InvalidInputError(f"the number of {what} must be a whole number")
    return int(value)


def subscribe_form(request: Request, viewer: Viewer, topic: str = "") -> HTMLResponse:
    return render(request, "digest_subscribe.html", {"sent_to": None, "error": None, "mail": None, "email": "", "topics": topic,
                                                     "frequency": "daily", "trending": "10"})  # fmt: skip


def subscribe(
    request: Request,
    hub: HubDep,
    viewer: Viewer,
    _: CsrfChecked,
    email: Text = "",
    frequency: Text = "daily",
    trending: Text = "10",
    topics: Text = "",
    for_you: Text = "0",
    follow_alerts: Text = "",
) -> HTMLResponse:
    form = {"email": email, "frequency": frequency, "trending": trending, "topics": topics,
            "for_you": for_you, "follow_alerts": follow_alerts}  # fmt: skip
    try:
        request.app.state.limiter.hit("signups", client_key(request))
        sub = hub.subscribe(email.strip() or None, frequency=frequency, trending_top=_trending(trending),
                            topics=_topics(topics), user=viewer,
                            for_you_top=_count(for_you, "For you papers"), follow_alerts=bool(follow_alerts))  # fmt: skip
    except (InvalidInputError, ConflictError) as e:
        return render(request, "digest_subscribe.html", {"sent_to": None, "error": str(e), "mail": None, **form}, status=400)
    # Visitors get the same answer whether the address was new, unconfirmed or already confirmed
    # (the page does not tell who is subscribed), and it claims no email was sent: none may have
    # been. Admins see what happened to the confirmation email and the outbox.
    mail = None
    if viewer is not None and viewer.is_admin:
        mail = {"message": hub.confirmation_mail(sub), "outbox": hub.digest_status()["outbox"], "sub": sub}
    return render(request, "digest_subscribe.html", {"sent_to": sub.email, "error": None, "mail": mail, **form})


def confirm_page(request: Request, token: str) -> HTMLResponse:
    # A GET only shows a button: mail scanners that fetch links must not confirm anything.
    return render(request, "digest_link.html", {"action": "confirm", "token": token, "done": None})


def confirm(request: Request, hub: HubDep, token: str) -> HTMLResponse:
    sub = hub.confirm_subscription(token)
    return render(request, "digest_link.html", {"action": "confirm", "token": token, "done": sub})


def unsubscribe_page(request: Request, hub: HubDep, token: str) -> HTMLResponse:
    sub = hub.subscription_for_token(token)
    return render(request, "digest_link.html", {"action": "unsubscribe", "token": token, "done": None, "sub": sub})


def unsubscribe(request: Request, hub: HubDep, token: str) -> Response:
    """The form's POST and RFC 8058 one-click POST (body ``List-Unsubscribe=One-Click``) alike."""
    sub = hub.unsubscribe(token)
    return render(request, "digest_link.html", {"action": "unsubscribe", "token": token, "done": sub or True, "sub": sub})


def preview(request: Request, hub: HubDep, user: Member) -> Response:
    """The next digest's HTML part as the email shows it (inline styles: a CSP of its own)."""
    digest, message = hub.preview_digest(user, site_url=site_url(request))
    if digest is None:
        return render(request, "digest_link.html", {"action": "preview", "token": "", "done": None})
    from email import message_from_bytes
    from email.policy import default

    parsed = message_from_bytes(message, policy=default)
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    return HTMLResponse(html, headers={"content-security-policy": csp, "cache-control": "private, no-store"})


def settings_add(
    request: Request, hub: HubDep, user: Actor, frequency: Text = "daily", trending: Text = "10", topics: Text = "",
    for_you: Text = "0", follow_alerts: Text = "",
) -> Response:  # fmt: skip
    from .accounts import _settings

    try:
        hub.subscribe(None, frequency=frequency, trending_top=_trending(trending), topics=_topics(topics), user=user,
                      for_you_top=_count(for_you, "For you papers"), follow_alerts=bool(follow_alerts))  # fmt: skip
    except (InvalidInputError, ConflictError) as e:
        return _settings(request, hub, user, 400, error=str(e), form="digests")
    return RedirectResponse("/settings?saved=digests#digests", status_code=303)


def settings_delete(request: Request, hub: HubDep, user: Actor, subscription_id: int) -> Response:
    hub.delete_subscription(user, subscription_id)
    return RedirectResponse("/settings#digests", status_code=303)
