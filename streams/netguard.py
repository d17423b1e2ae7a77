"""Addresses a user may aim the server at: none inward unless the operator allows it.

A webhook URL (and later a broker's address) is typed by a user but reached by
the server, from inside its network. A name is resolved once, here; every
address it gives must be public (not loopback, private, link-local, multicast,
reserved or unspecified, IPv4-mapped IPv6 included) or fall in a network the
operator names in PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS. The caller then connects
to exactly the addresses that were checked, so a second lookup cannot give
another answer (DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# NAT64 prefixes carry an IPv4 address in their last 32 bits (RFC 6052, RFC 8215).
NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# Shared address space (carrier-grade NAT), which `is_private` leaves out before 3.13.
SHARED = ipaddress.IPv4Network("100.64.0.0/10")


@dataclass(frozen=True)
class Verdict:
    """What a check of a host found: the addresses to connect to, or why there are none."""

    allowed: bool
    # (family, sockaddr) as getaddrinfo gave them: connect to these and nothing else.
    addresses: tuple[tuple[int, tuple], ...] = ()
    # "private_address" (a refused address) or "unresolved" (no address at all).
    code: str = ""


def parse_networks(values: Iterable[str]) -> list[IPNetwork]:
    """Return the networks of CIDR strings ("127.0.0.0/8", "::1"); raise ValueError naming a bad one."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an address or network (CIDR)") from None
    return networks


def allowed_networks() -> list[IPNetwork]:
    """Return the networks the operator allows targets in (the setting, read now)."""
    return parse_networks(settings.PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS)


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if any(address in prefix for prefix in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_inward(address: IPAddress) -> bool:
    """Return whether the address is not a public one: loopback, private, link-local and the like."""
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
        or (isinstance(address, ipaddress.IPv4Address) and address in SHARED)
    )


def ip_allowed(address: IPAddress | str, networks: Sequence[IPNetwork] | None = None) -> bool:
    """Return whether the server may connect to this address (the decision alone, no traffic)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    networks = allowed_networks() if networks is None else networks
    # An IPv4-mapped address is the IPv4 one (the kernel connects there), so an
    # allowed IPv4 network allows it; 6to4 and NAT64 only ever add refusals.
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    if any(ip in network or (mapped and mapped in network) for network in networks):
        return True
    inner = embedded_ipv4(ip)
    return not (is_inward(ip) or (inner is not None and is_inward(inner)))


def address_allowed(host: str, port: int, networks: Sequence[IPNetwork] | None = None) -> Verdict:
    """Resolve `host` once and return whether every address it gives may be reached.

    A name with one refused address is refused whole: a receiver has no reason
    to list an inward address, and an attacker's name would.
    """
    networks = allowed_networks() if networks is None else networks
    name = host.strip().strip("[]")
    try:
        found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return Verdict(False, (), "unresolved")
    addresses: list[tuple[int, tuple]] = []
    for family, _type, _proto, _name, sockaddr in found:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        if not ip_allowed(str(sockaddr[0]), networks):
            return Verdict(False, (), "private_address")
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        return Verdict(False, (), "unresolved")
    return Verdict(True, tuple(addresses))
