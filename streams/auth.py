"""Who is asking: API tokens over HTTP and WebSocket, and the WebSocket origin check."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta
from functools import wraps
from importlib import import_module
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth import get_user as auth_get_user
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host
from django.middleware.csrf import CsrfViewMiddleware
from django.utils import timezone
from django.utils.http import is_same_domain
from django.views.decorators.csrf import csrf_exempt

from streams.access import link_of
from streams.batches import Batches, per_loop
from streams.messages import SessionEndedMessage, TokenRevokedMessage
from streams.metrics import metric_inc
from streams.models import ApiToken, token_digest

TOKEN_HEADER_PREFIX = "Token "
# Where an API token is a credential: the HTTP API and the metrics scrape.
TOKEN_PATHS = ("/api/", "/metrics")
# Writing last_used on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
View = Callable[..., HttpResponse]
# The session engine whose sessions a batch of handshakes reads in one query.
DATABASE_SESSIONS = "django.contrib.sessions.backends.db"


def token_row(token: str) -> ApiToken | None:
    """Return the token row of an active user that `token` is, or None."""
    return token_rows(None, [token])[0]


def token_rows(_key: Hashable, tokens: list[str]) -> list[ApiToken | None]:
    """Return the row of each of `tokens` (None where not an active user's), in one query."""
    digests = [token_digest(token) if token and len(token) <= 200 else None for token in tokens]
    wanted = {digest for digest in digests if digest is not None}
    rows = (
        {
            row.digest: row
            for row in ApiToken.objects.select_related("user").filter(digest__in=wanted)
        }
        if wanted
        else {}
    )
    found = [rows.get(digest) if digest is not None else None for digest in digests]
    now = timezone.now()
    stale = {
        row.pk
        for row in rows.values()
        if row.user.is_active
        and (row.last_used is None or now - row.last_used > LAST_USED_RESOLUTION)
    }
    if stale:
        # A note to the minute: a database too busy to take it skips it, never the request.
        with contextlib.suppress(OperationalError):
            ApiToken.objects.filter(pk__in=stale).update(last_used=now)
    return [row if row is not None and row.user.is_active else None for row in found]


class ReadSession(DatabaseSessionStore):
    """A database session whose row a batch has read already: `load` returns its data."""

    def __init__(self, session_key: str | None, data: dict[str, Any]):
        super().__init__(session_key)
        self.data_read = data

    def load(self) -> dict[str, Any]:
        return self.data_read


def session_users(_key: Hashable, keys: list[str]) -> list[tuple[SessionBase, Any]]:
    """Return the session of each key and the user it is logged in as (or an anonymous one).

    The user is found Django's way (`django.contrib.auth.get_user`, which signs
    out a session whose password hash no longer matches). Sessions of the
    database engine are read in one query for the whole batch.
    """
    sessions: list[SessionBase]
    if settings.SESSION_ENGINE == DATABASE_SESSIONS:
        rows = Session.objects.filter(session_key__in=set(keys), expire_date__gt=timezone.now())
        data = {row.session_key: row.get_decoded() for row in rows}
        sessions = [ReadSession(key, data.get(key, {})) for key in keys]
    else:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        sessions = [store(key) for key in keys]
    return [(session, auth_get_user(SimpleNamespace(session=session))) for session in sessions]


def in_database_thread(read: Callable[..., Any], *args: Any) -> Awaitable[Any]:
    """Run `read` in Channels' database thread, with its connection upkeep."""
    return database_sync_to_async(read)(*args)


class HandshakeReads:
    """The credential reads of the handshakes arriving together, one query per batch."""

    def __init__(self) -> None:
        self.tokens: Batches[str, ApiToken | None] = Batches(token_rows, in_database_thread)
        self.sessions: Batches[str, tuple[SessionBase, Any]] = Batches(
            session_users, in_database_thread
        )


handshake_reads = per_loop(HandshakeReads)


def token_user(token: str) -> Any | None:
    """Return the active user that `token` belongs to, or None."""
    row = token_row(token)
    return row.user if row is not None else None


def scope_user_now(scope: dict[str, Any]) -> Any | None:
    """Return the socket's user as the database has them now, or None when their credential ended.

    A session ends on logout or expiry, a token when it is deleted; either ends
    with a password change or deactivation. The net under the events that
    normally close such sockets at once (streams/signals.py).
    """
    User = get_user_model()
    if scope.get("auth_method") == "token":
        row = ApiToken.objects.select_related("user").filter(pk=scope.get("token_id")).first()
        return row.user if row is not None and row.user.is_active else None
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if key is None:
        return None
    data = import_module(settings.SESSION_ENGINE).SessionStore(key).load()
    user_id = data.get(SESSION_KEY)
    user = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None or data.get(HASH_SESSION_KEY) != user.get_session_auth_hash():
        return None
    return user


def session_end_reaches(scope: dict[str, Any], event: SessionEndedMessage) -> bool:
    """Return whether a `session.ended` event ends the credential of the socket of `scope`.

    Logout names its session and ends only the sockets it opened; a new password,
    deactivation or deletion names none and ends every socket of the user, tokens too.
    """
    if event["session"] is None:
        return True
    if scope.get("auth_method") == "token":
        return False
    key = getattr(scope.get("session"), "session_key", None)
    return key is not None and event["session"] == key


def token_revocation_reaches(scope: dict[str, Any], event: TokenRevokedMessage) -> bool:
    """Return whether a `token.revoked` event names the API token the socket signed in with."""
    return scope.get("auth_method") == "token" and scope.get("token_id") == event["token"]


def query_param(scope: dict[str, Any], name: str) -> str | None:
    """Return a query parameter of a WebSocket scope, if it is there."""
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    values = query.get(name)
    return values[0] if values else None


def query_token(scope: dict[str, Any]) -> str | None:
    return query_param(scope, "token")


class TokenAuthenticationMiddleware:
    """Authenticate `Authorization: Token <t>` requests to the API (no CSRF check for them).

    A token opens the API only: pages, forms, logout and the admin ignore it, so
    a leaked token is not a browser session.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if header.startswith(TOKEN_HEADER_PREFIX) and request.path.startswith(TOKEN_PATHS):
            user = token_user(header[len(TOKEN_HEADER_PREFIX) :].strip())
            if user is None:
                return JsonResponse(
                    {"error": {"code": "invalid_token", "message": "The API token is not valid."}},
                    status=401,
                )
            request.user = user
            request.token_authenticated = True  # no CSRF check (`csrf_unless_token`)
        return self.get_response(request)


def csrf_unless_token(view: View) -> View:
    """Return `view` with Django's CSRF check made here, skipped when an API token signed in.

    CSRF guards what a browser attaches by itself, its session cookie. A token
    is a script's credential, which a foreign page cannot make a browser send;
    a request with neither has nothing to forge (the view answers 401). The
    view is exempt from the middleware, whose decision this asks for instead.
    """

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not getattr(request, "token_authenticated", False):
            refused = CsrfViewMiddleware(view).process_view(request, view, args, kwargs)
            if refused is not None:
                return refused
        return view(request, *args, **kwargs)

    return csrf_exempt(checked)


class SessionAuthMiddleware:
    """Put the session cookie's session and user into a WebSocket scope, once.

    Channels' session middleware also wraps `send`, to save the session after an
    HTTP response; a socket never saves its session, and that wrapper cost a call
    on every frame sent. Logout and password changes reach open sockets as
    `session.ended` events (streams/signals.py), not through the session.
    """

    def __init__(self, application: Any):
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        cookies: dict[str, str] = {}
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies = parse_cookie(value.decode("latin1"))
                break
        key = cookies.get(settings.SESSION_COOKIE_NAME)
        # No session cookie, no session to read: a script with a token skips that trip
        # to the database thread (a reconnect storm is a thousand handshakes at once).
        if key:
            session, user = await handshake_reads().sessions.ask("sessions", key)
        else:
            session, user = import_module(settings.SESSION_ENGINE).SessionStore(), AnonymousUser()
        scope = dict(scope, cookies=cookies, session=session, user=user)
        return await self.application(scope, receive, send)


class TokenAuthMiddleware:
    """Put the user of a `?token=` query parameter into a WebSocket scope.

    `?share=<secret>` of a dashboard's read-only link puts that dashboard's id in
    the scope as `link_dashboard`: its holder may watch the streams it shows.
    """

    def __init__(self, application: Any):
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = query_token(scope) if scope["type"] == "websocket" else None
        if token is not None:
            row = await handshake_reads().tokens.ask("tokens", token)
            user = row.user if row is not None else AnonymousUser()
            token_id = row.pk if row is not None else None
            scope = dict(scope, user=user, auth_method="token", token_id=token_id)
        share = query_param(scope, "share") if scope["type"] == "websocket" else None
        if share:
            dashboard_id = await database_sync_to_async(link_of)(share)
            scope = dict(scope, link_dashboard=dashboard_id, link_token=share)
        return await self.application(scope, receive, send)


def handshake_meta(scope: dict[str, Any]) -> dict[str, str]:
    """Return a WebSocket handshake's headers named as in Django's `request.META` (HTTP_HOST, …)."""
    meta: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key = "HTTP_" + name.decode("latin1").upper().replace("-", "_")
        text = value.decode("latin1")
        # Repeated headers are joined with commas, as Django's ASGI handler joins them.
        meta[key] = f"{meta[key]},{text}" if key in meta else text
    return meta


def handshake_secure(scope: dict[str, Any], meta: dict[str, str]) -> bool:
    """Return whether the socket's page came over HTTPS: wss, or a trusted proxy's header says so."""
    if settings.SECURE_PROXY_SSL_HEADER:
        header, secure_value = settings.SECURE_PROXY_SSL_HEADER
        value = meta.get(header)
        if value is not None:
            return bool(value.split(",", 1)[0].strip() == secure_value)
    return bool(scope.get("scheme") == "wss")


def handshake_host(scope: dict[str, Any], meta: dict[str, str], secure: bool) -> str | None:
    """Return the socket's host as Django's `get_host` finds it; None when not in ALLOWED_HOSTS."""
    if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in meta:
        host = meta["HTTP_X_FORWARDED_HOST"]
    elif "HTTP_HOST" in meta:
        host = meta["HTTP_HOST"]
    else:  # no Host header: the server's own address, as PEP 333 rebuilds it
        name, port = scope.get("server") or ("unknown", "0")
        host = str(name) if str(port) == ("443" if secure else "80") else f"{name}:{port}"
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _ = split_domain_port(host)
    return host if domain and validate_host(domain, allowed) else None


def origin_trusted(scope: dict[str, Any]) -> bool:
    """Return whether the handshake's Origin is this site's own or a CSRF-trusted one.

    Django's CSRF origin check, for a socket: the site's own origin is the scheme
    of the page (`http` for ws, `https` for wss) and the Host header, which must
    be in ALLOWED_HOSTS; the scheme, host and port must all match. Beside it,
    the origins of CSRF_TRUSTED_ORIGINS (`https://*.example.com` for subdomains).
    """
    meta = handshake_meta(scope)
    origin = meta.get("HTTP_ORIGIN")
    if origin is None:
        return False
    secure = handshake_secure(scope, meta)
    host = handshake_host(scope, meta, secure)
    if host is not None and origin == f"{'https' if secure else 'http'}://{host}":
        return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in {each for each in trusted if "*" not in each}:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    for pattern in (urlsplit(each) for each in trusted if "*" in each):
        if pattern.scheme == parsed.scheme and is_same_domain(
            parsed.netloc, pattern.netloc.lstrip("*")
        ):
            return True
    return False


class BrowserOriginValidator:
    """Refuse cross-site WebSockets: a browser always sends Origin, so it must be ours.

    Scripts using an API token send no Origin; they may connect, because a token
    is not something a foreign page can make a browser attach.
    """

    def __init__(self, application: Any):
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            raise ValueError("The origin check is for WebSockets only")
        has_origin = any(name == b"origin" for name, _ in scope.get("headers", []))
        if (not has_origin and query_token(scope)) or origin_trusted(scope):
            return await self.application(scope, receive, send)
        metric_inc("pulseboard_connections_refused_total", reason="origin")
        # Closed before it is accepted: the client sees HTTP 403 and no socket opens.
        return await WebsocketDenier()(scope, receive, send)


def origin_validator(application: Any) -> BrowserOriginValidator:
    """Wrap `application` so only this site's pages (or CSRF-trusted origins) open browser sockets."""
    return BrowserOriginValidator(application)
