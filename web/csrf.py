"""The feedback form's anti-forgery token: every form the pages render carries a signed token in
a hidden field, and ``POST /feedback`` stores nothing without a valid one.

A token is ``<unix time>.<random>.<mac>``, the MAC an HMAC-SHA256 of the first two parts with the
site's secret key; it is good for :data:`MAX_AGE` seconds. The key is ``PEERQA_SECRET_KEY``, or a
random key made once and kept in ``DATA_DIR/secret_key`` (mode 0600), so tokens survive a restart.
Templates get the token from the global function ``csrf_token()`` (:func:`install`); it finds the
request in the template's context or, in macros imported without context, as the request whose
page is being rendered (a context processor notes it just before rendering).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import SecretStr
from starlette.requests import Request
from starlette.templating import Jinja2Templates

log = logging.getLogger(__name__)

FIELD = "csrf_token"  #: name of the hidden form field
MAX_AGE = 12 * 60 * 60  #: seconds a token stays valid (a page left open over a working day)
KEY_FILE = "secret_key"
KEY_BYTES = 32
_FUTURE_SLACK = 60  # seconds a token's time may lie ahead (clocks of several servers)

Problem = Literal["missing", "invalid", "expired"]
_made = threading.Lock()
_rendering: ContextVar[Request | None] = ContextVar("csrf_rendering", default=None)


class Signer:
    """Issues and checks tokens with one key."""

    def __init__(self, key: bytes, max_age: int = MAX_AGE) -> None:
        self._key = key
        self.max_age = max_age

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self, now: float | None = None) -> str:
        payload = f"{int(time.time() if now is None else now)}.{secrets.token_hex(8)}"
        return f"{payload}.{self._mac(payload)}"

    def problem(self, token: str | None, now: float | None = None) -> Problem | None:
        """Why ``token`` is not good (missing, invalid, expired), or None when it is."""
        if not token:
            return "missing"
        stamp, _, rest = token.partition(".")
        nonce, _, mac = rest.partition(".")
        if not (stamp.isdigit() and nonce and mac and token.isascii()):
            return "invalid"
        if not hmac.compare_digest(mac, self._mac(f"{stamp}.{nonce}")):
            return "invalid"
        age = (time.time() if now is None else now) - int(stamp)
        if age < -_FUTURE_SLACK:
            return "invalid"
        return "expired" if age > self.max_age else None


def secret_key(configured: SecretStr | None, data_dir: Path) -> bytes:
    """The ``configured`` key (``PEERQA_SECRET_KEY``), else the key in ``data_dir/secret_key``,
    made there on first use. A data folder that cannot hold the key gives a key for this process
    only (logged): forms then work until the service restarts."""
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value().encode("utf-8")
    path = Path(data_dir) / KEY_FILE
    try:
        return _stored_key(path)
    except OSError as exc:
        log.error("cannot keep the form key in %s (%s); using a key for this process only: set "
                  "PEERQA_SECRET_KEY or make the data folder writable", path, exc)
        return os.urandom(KEY_BYTES)


def _stored_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(os.urandom(KEY_BYTES))
            try:
                os.link(draft, path)  # atomic, and never replaces a key another process made first
            except FileExistsError:
                pass
        finally:
            draft.unlink(missing_ok=True)
    key = path.read_bytes()
    if len(key) < 16:
        raise OSError(f"{path} holds {len(key)} bytes; a key needs at least 16 (delete it to make a new one)")
    return key


def signer_for(request: Request) -> Signer:
    """The app's signer, made on first use from its settings."""
    app = request.app
    with _made:
        signer = getattr(app.state, "csrf_signer", None)
        if signer is None:
            settings = app.state.settings
            signer = app.state.csrf_signer = Signer(secret_key(settings.secret_key, settings.data_dir))
        return signer


def token_for(request: Request) -> str:
    """One token per response: every form on a page carries the same one."""
    token = getattr(request.state, "csrf_token", None)
    if token is None:
        token = request.state.csrf_token = signer_for(request).issue()
    return token


def problem_of(request: Request, token: str | None) -> Problem | None:
    return signer_for(request).problem(token)


def note_request(request: Request) -> dict[str, Any]:
    """Context processor: remember the request whose page is about to be rendered (adds nothing)."""
    _rendering.set(request)
    return {}


@jinja2.pass_context
def csrf_token(context: Any) -> str:
    """Template global: the token for the page being rendered."""
    request = context.get("request") or _rendering.get()
    if request is None:
        raise RuntimeError("csrf_token() is for templates rendered by Jinja2Templates.TemplateResponse")
    return token_for(request)


def install(templates: Jinja2Templates) -> None:
    """Make ``csrf_token()`` available to every template of ``templates``, macros included."""
    templates.env.globals["csrf_token"] = csrf_token
    if note_request not in templates.context_processors:
        templates.context_processors.append(note_request)
