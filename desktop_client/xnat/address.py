"""What people type as an XNAT address, turned into the base URL the client talks to.

People paste whatever their browser shows: a bare host, ``http://`` for an https-only site, the
login page (``…/app/template/Login.vm``), a project page, ``…/data``. This module reduces that to
``scheme://host[:port][/context]`` and holds the one policy about plain http (issue 14 §4):
Basic credentials over ``http://`` cross the network readable by anyone on the path, so plain
http is refused for anything but this machine (loopback) unless the user explicitly allows it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from desktop_client.xnat.errors import XnatError

# Path tails that are XNAT pages or API roots, never part of the context path. The first match
# (and everything after it) is cut: ``https://h/xnat/app/template/Login.vm`` → ``https://h/xnat``.
_TAIL = re.compile(r"/(?:app|data|REST|xapi|j_spring_security_check|index\.jsp|login)(?:/|$)"
                   r"|/(?:[^/]+\.(?:vm|jsp|html?))$", re.IGNORECASE)

PLAIN_HTTP_WARNING = ("With an unencrypted (http://) connection your password, your alias token "
                      "and every file you upload cross the network readable by anyone on the way.")


class XnatInsecureTransportError(XnatError):
    """Plain http to a host that is not this machine, without the user's explicit opt-in."""


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """A normalised address; ``scheme_given`` is False when the user typed none (try https)."""

    url: str
    scheme_given: bool

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def is_plain_http(self) -> bool:
        return self.url.lower().startswith("http://")

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    def with_scheme(self, scheme: str) -> "ServerAddress":
        parts = urlsplit(self.url)
        return ServerAddress(urlunsplit((scheme, parts.netloc, parts.path, "", "")), True)


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ``::1``: traffic that never leaves this machine."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def parse_address(text: str) -> ServerAddress:
    """``host:8080/xnat/app/template/Login.vm`` → ``https://host:8080/xnat`` (scheme not given).

    Raises ValueError with a sentence the user can act on.
    """
    raw = (text or "").strip()
    if not raw:
        raise ValueError("The server address is empty; type it as https://xnat.example.org.")
    scheme_given = "://" in raw
    if not scheme_given:
        raw = "https://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"The server address must start with https:// (or http://), not "
                         f"{parts.scheme}:// (got {text.strip()!r}).")
    if not parts.hostname:
        raise ValueError(f"The server address {text.strip()!r} has no host name.")
    path = parts.path
    match = _TAIL.search(path)
    if match:
        path = path[: match.start()]
    path = re.sub(r"/{2,}", "/", path).rstrip("/")
    return ServerAddress(urlunsplit((scheme, parts.netloc.lower(), path, "", "")), scheme_given)


def normalise_base_url(base_url: str) -> str:
    """The base URL of :func:`parse_address` (``https://`` when no scheme was typed)."""
    return parse_address(base_url).url


def check_transport(address: ServerAddress, allow_http: bool) -> None:
    """Refuse sending credentials over plain http to another machine without the opt-in."""
    if address.is_plain_http and not address.is_loopback and not allow_http:
        raise XnatInsecureTransportError(
            f"{address.url} is an unencrypted address: use https:// instead, or, only if this "
            f"server offers no https, allow an unencrypted connection (the \"Allow unencrypted "
            f"connection\" box, or --allow-http). {PLAIN_HTTP_WARNING}", url=address.url)


__all__ = ["PLAIN_HTTP_WARNING", "ServerAddress", "XnatInsecureTransportError", "check_transport",
           "is_loopback_host", "normalise_base_url", "parse_address"]
