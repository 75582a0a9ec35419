"""Staff sign-in shared by every service: accounts, the session, roles, CSRF, and the `nmd-staff` command.

The pages service mounts `staff_blueprint` (/staff/login, /staff/logout, /staff/); the other services only read the
signed session cookie, which every service can verify because they share SECRET_KEY. A session lasts 12 hours from
sign-in, whatever happens in between. Removing or disabling an account does not end a session already signed in
(services do not read the staff database on each request); it ends at logout or after those 12 hours.

Visitors never get a session cookie: public forms are protected by a honeypot and rate limits, while CSRF tokens
(which live in the session) are for staff forms only. Never call `csrf_token()` from a public page.
"""

from __future__ import annotations

import argparse
import getpass
import hmac
import re
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    redirect,
    render_template,
    request,
)
from flask import session as flask_session
from flask.views import View
from sqlalchemy import Boolean, Column, DateTime, Engine, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import Rule
from werkzeug.security import check_password_hash, generate_password_hash

from nmd_runtime import database, settings, web

ROLES = ("moderator", "partnerships", "editor", "admin")
MIN_PASSWORD_LENGTH = 12
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRONG_CREDENTIALS = "wrong user name or password"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

metadata = MetaData()
staff_accounts = Table(
    "staff_accounts",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("roles", String(200), nullable=False),  # comma separated: portable across SQLite and PostgreSQL
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

F = TypeVar("F", bound=Callable[..., Any])


class StaffError(ValueError):
    """A staff account change that cannot be made (unknown role, duplicate name, weak password...)."""


@dataclass(frozen=True)
class StaffMember:
    username: str
    roles: frozenset[str]
    created_at: datetime | None = None
    disabled: bool = False

    def has_role(self, *roles: str) -> bool:
        """Any of `roles` (none given: any staff member); admin has every role."""
        return not roles or "admin" in self.roles or any(role in self.roles for role in roles)


# --- accounts


def _clean_username(username: str) -> str:
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise StaffError("a user name is 2-64 characters: a-z, 0-9, '.', '_' or '-'")
    return username


def _clean_roles(roles: Sequence[str]) -> str:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise StaffError(f"roles must be some of {', '.join(ROLES)}; got {', '.join(unknown) or 'none'}")
    return ",".join(role for role in ROLES if role in roles)


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return generate_password_hash(password, method="scrypt")


class StaffStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Checked against when the user name is unknown, so a wrong name takes as long as a wrong password.
        self._dummy_hash = generate_password_hash(secrets.token_hex(16), method="scrypt")

    def add(self, username: str, password: str, roles: Sequence[str]) -> StaffMember:
        row = {
            "username": _clean_username(username),
            "password_hash": _hash(password),
            "roles": _clean_roles(roles),
            "created_at": datetime.now(UTC),
            "disabled": False,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(staff_accounts).values(row))
        except IntegrityError as error:
            raise StaffError(f"{row['username']} already exists") from error
        return _member(row)

    def get(self, username: str) -> StaffMember | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(staff_accounts).where(staff_accounts.c.username == username.strip().lower())
                )
                .mappings()
                .first()
            )
        return _member(row) if row else None

    def verify(self, username: str, password: str) -> StaffMember | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(staff_accounts).where(staff_accounts.c.username == username.strip().lower())
                )
                .mappings()
                .first()
            )
        if row is None:
            check_password_hash(self._dummy_hash, password)
            return None
        if not check_password_hash(row["password_hash"], password) or row["disabled"]:
            return None
        return _member(row)

    def set_password(self, username: str, password: str) -> None:
        self._update(username, password_hash=_hash(password))

    def set_roles(self, username: str, roles: Sequence[str]) -> None:
        self._update(username, roles=_clean_roles(roles))

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._update(username, disabled=disabled)

    def remove(self, username: str) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(
                delete(staff_accounts).where(staff_accounts.c.username == username.strip().lower())
            )
        return result.rowcount > 0

    def list(self) -> list[StaffMember]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(staff_accounts).order_by(staff_accounts.c.username)).mappings()
            return [_member(row) for row in rows]

    def _update(self, username: str, **values: object) -> None:
        with self.engine.begin() as connection:
            result = connection.execute(
                update(staff_accounts).where(staff_accounts.c.username == username.strip().lower()).values(values)
            )
        if result.rowcount == 0:
            raise StaffError(f"no staff member called {username}")


def _member(row: Any) -> StaffMember:
    return StaffMember(
        row["username"], frozenset(filter(None, row["roles"].split(","))), row["created_at"], bool(row["disabled"])
    )


_stores: dict[str, StaffStore] = {}


def staff_store(url: str | None = None) -> StaffStore:
    """The store at `url`, else app.config["STAFF_DATABASE_URL"], else STAFF_DATABASE_URL or var/staff.db."""
    if url is None and has_request_context():
        url = current_app.config.get("STAFF_DATABASE_URL")
    url = url or settings.database_url("staff")
    if url not in _stores:
        engine = database.make_engine(url)
        database.migrate(engine, metadata)
        _stores[url] = StaffStore(engine)
    return _stores[url]


# --- the session


def sign_in(member: StaffMember) -> None:
    # A fresh session on sign-in: nothing planted before (a fixed CSRF token, say) survives it.
    flask_session.clear()
    flask_session["staff"] = {"username": member.username, "roles": sorted(member.roles)}
    flask_session["signed_in_at"] = int(time.time())
    flask_session["csrf_token"] = secrets.token_urlsafe(32)
    flask_session.permanent = True
    g.pop("nmd_staff", None)


def sign_out() -> None:
    flask_session.clear()
    g.pop("nmd_staff", None)


def current_staff() -> StaffMember | None:
    if not has_request_context():
        return None
    if "nmd_staff" not in g:
        g.nmd_staff = _staff_from_session()
    return g.nmd_staff  # type: ignore[no-any-return]


def _staff_from_session() -> StaffMember | None:
    data = flask_session.get("staff")
    signed_in_at = flask_session.get("signed_in_at")
    if not isinstance(data, dict) or not isinstance(signed_in_at, int):
        return None
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if time.time() - signed_in_at > lifetime:
        flask_session.clear()
        return None
    roles = frozenset(role for role in data.get("roles", []) if role in ROLES)
    return StaffMember(str(data.get("username", "")), roles)


# --- CSRF


def csrf_token() -> str:
    """The session's CSRF token (creating one, and so a session cookie). For staff forms only."""
    if "csrf_token" not in flask_session:
        flask_session["csrf_token"] = secrets.token_urlsafe(32)
    return str(flask_session["csrf_token"])


def csrf_valid() -> bool:
    expected = flask_session.get("csrf_token")
    given = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    return isinstance(expected, str) and bool(given) and hmac.compare_digest(expected, given)


def _check_csrf() -> None:
    # A state change made with a staff session's authority needs the token: forms send the field, scripts the
    # header. Public forms and the SendGrid webhook use no staff authority, so a signed-in member of staff can
    # fill them in like anyone else.
    if (
        request.method in UNSAFE_METHODS
        and current_staff() is not None
        and _is_staff_view(current_app.view_functions.get(request.endpoint or ""))
        and not csrf_valid()
    ):
        web.abort_with(
            400,
            "This form has expired or did not come from this site; reload the page and try again.",
            {"csrf_token": ["missing or wrong CSRF token"]},
        )


def install(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token, current_staff=current_staff)


# --- guarding views


def staff_required(*roles: str) -> Callable[[F], F]:
    """Let in a signed-in staff member holding any of `roles` (none: any staff member; admin: always).

    Anonymous: HTML → 302 to /staff/login?next=..., API → 401. Signed in without the role → 403. Works on view
    functions, MethodView methods and MethodView classes; put it *below* the route decorator, or the route
    registers the unguarded view.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: F) -> F:
        if isinstance(view, type) and issubclass(view, View):
            view.decorators = [*view.decorators, staff_required(*roles)]
            view._staff_roles = roles  # type: ignore[attr-defined]
            return view  # type: ignore[return-value]

        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            member = current_staff()
            if member is None:
                if web.wants_json():
                    web.abort_with(401, "Please sign in as staff first.")
                return redirect(f"/staff/login?{urlencode({'next': request.full_path.rstrip('?')})}")
            if not member.has_role(*roles):
                web.abort_with(403, f"This needs the {' or '.join(roles)} role.")
            return view(*args, **kwargs)

        guarded._staff_roles = roles  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def _is_staff_view(view: Any) -> bool:
    if hasattr(view, "_staff_roles"):
        return True
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return False
    methods = [getattr(view_class, name.lower(), None) for name in (view_class.methods or ())]
    return hasattr(view_class, "_staff_roles") or any(hasattr(m, "_staff_roles") for m in methods)


def staff_routes(app: Flask) -> list[Rule]:
    """Every URL rule whose view (or one of its MethodView methods) is guarded by `staff_required`."""
    return [rule for rule in app.url_map.iter_rules() if _is_staff_view(app.view_functions.get(rule.endpoint))]


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this origin; absolute and scheme-relative URLs could send staff elsewhere."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(char) < 32 for char in target) or "\\" in target:
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


# --- /staff: sign in, sign out, home

STAFF_LINKS = (
    ("Story moderation", "/stories/staff/", "moderator"),
    ("Partner review", "/partners/staff/", "partnerships"),
    ("Newsletter issues", "/newsletter/staff/", "editor"),
    ("Dead letters", "/staff/deadletters", "admin"),
    ("Page views", "/staff/page-views", None),
)

staff_blueprint = Blueprint("staff", __name__, url_prefix="/staff")


@staff_blueprint.get("/login")
def login_form() -> Any:
    target = safe_next(request.args.get("next"))
    if current_staff() is not None:
        return redirect(target or "/staff/")
    return render_template("nmd/staff/login.html", next=target or "", username="", error=None)


@staff_blueprint.post("/login")
@web.rate_limit(10, 300)
def login() -> Any:
    target = safe_next(request.form.get("next"))
    username = request.form.get("username", "")[:64]
    if not csrf_valid():
        error, status = "This sign-in form has expired. Please try again.", 400
    else:
        member = staff_store().verify(username, request.form.get("password", "")[:1024])
        if member is not None:
            sign_in(member)
            return redirect(target or "/staff/", code=303)
        # 200, not 401: a 401 promises a WWW-Authenticate challenge, and this is just the form again.
        error, status = WRONG_CREDENTIALS, 200
    page = render_template("nmd/staff/login.html", next=target or "", username=username, error=error)
    return Response(page, status=status, mimetype="text/html")


@staff_blueprint.post("/logout")
def logout() -> Any:
    sign_out()
    return redirect("/staff/login", code=303)


@staff_blueprint.get("/")
@staff_required()
def home() -> Any:
    member = current_staff()
    assert member is not None
    links = [(label, href) for label, href, role in STAFF_LINKS if role is None or member.has_role(role)]
    return render_template("nmd/staff/home.html", member=member, links=links)


# --- tests


def sign_in_test_client(client: Any, *roles: str, username: str = "tester") -> str:
    """Put a signed-in staff session in a Flask test client; returns its CSRF token for POSTs."""
    token = secrets.token_urlsafe(32)
    with client.session_transaction() as session:
        session.clear()
        session["staff"] = {"username": username, "roles": sorted(roles)}
        session["signed_in_at"] = int(time.time())
        session["csrf_token"] = token
        session.permanent = True
    return token


# --- nmd-staff


def _password(args: argparse.Namespace) -> str:
    if args.password:
        return str(args.password)
    if args.generate:
        password = secrets.token_urlsafe(18)
        print(f"password (shown once): {password}")
        return password
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise StaffError("the two passwords differ")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nmd-staff", description="Manage staff accounts.")
    parser.add_argument("--database-url", help="default: STAFF_DATABASE_URL, else var/staff.db")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("add", "set-password"):
        command = commands.add_parser(name)
        command.add_argument("username")
        secret = command.add_mutually_exclusive_group()
        secret.add_argument("--password", help="avoid on shared machines: it stays in the shell history")
        secret.add_argument("--generate", action="store_true", help="make a strong password and print it once")
        if name == "add":
            command.add_argument("--role", action="append", choices=ROLES, required=True, dest="roles")
    commands.add_parser("remove").add_argument("username")
    commands.add_parser("list")
    args = parser.parse_args(argv)

    store = staff_store(args.database_url)
    try:
        if args.command == "add":
            member = store.add(args.username, _password(args), args.roles)
            print(f"added {member.username} ({', '.join(sorted(member.roles))})")
        elif args.command == "set-password":
            store.set_password(args.username, _password(args))
            print(f"password changed for {args.username}")
        elif args.command == "remove":
            if not store.remove(args.username):
                raise StaffError(f"no staff member called {args.username}")
            print(f"removed {args.username}")
        else:
            for member in store.list():
                state = " (disabled)" if member.disabled else ""
                print(f"{member.username}\t{','.join(sorted(member.roles))}{state}")
    except StaffError as error:
        print(f"nmd-staff: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
