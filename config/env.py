"""Read settings from the environment, failing loudly on values that make no sense."""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
import threading
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}
# How long `is_loopback` waits for a name to resolve before it counts as not loopback.
LOOKUP_SECONDS = 2.0


def env_str(name: str, default: str) -> str:
    """Return the variable as a string, or the default when it is unset."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean; anything but a yes/no word is an error."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Return the variable as an integer no smaller than `minimum`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """Return the variable as a number no smaller than `minimum`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty, stripped items."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def local_secret_key(path: Path) -> str:
    """Return the key kept in `path`, creating it once, for installs that set no SECRET_KEY."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key + "\n")
        path.chmod(0o600)
        return key


def bare_host(host: str) -> str:
    """Return `host` as a name or address alone: trimmed, lower case, IPv6 brackets off."""
    return host.strip().removeprefix("[").removesuffix("]").lower()


def is_loopback_literal(host: str) -> bool:
    """Return whether `host` is `localhost` or a loopback address written out (no lookup)."""
    name = bare_host(host)
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback(host: str) -> bool:
    """Return whether `host` reaches this machine's loopback interface only.

    A name other than `localhost` is looked up, and counts only when every address
    it has is a loopback one: `127.example.test` is a name like any other.
    """
    name = bare_host(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        pass
    addresses = addresses_of(name)
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def addresses_of(name: str) -> set[str]:
    """Return the addresses `name` resolves to, none when it does not within a moment."""
    found: set[str] = set()

    def look_up() -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return  # a name that does not resolve reaches nothing, loopback least of all
        # An IPv6 answer may carry its interface (fe80::1%eth0); the address is before it.
        found.update(str(info[4][0]).partition("%")[0] for info in infos)

    # A resolver that does not answer must not hold up every start: settings read this.
    lookup = threading.Thread(target=look_up, name="resolve-host", daemon=True)
    lookup.start()
    lookup.join(LOOKUP_SECONDS)
    return set() if lookup.is_alive() else found
