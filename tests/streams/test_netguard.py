"""Which addresses a user's URL may reach: the decision alone (nothing here sends a packet).

Addresses are given as literals, so resolving them asks no DNS server either.
"""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from streams.netguard import address_allowed, ip_allowed, parse_networks

LOOPBACK = parse_networks(["127.0.0.0/8", "::1/128"])


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # link-local: the cloud metadata service
        "224.0.0.1",  # multicast
        "239.255.255.250",
        "240.0.0.1",  # reserved
        "0.0.0.0",  # unspecified
        "100.64.0.1",  # shared (carrier-grade NAT)
        "192.0.2.1",  # documentation
        "255.255.255.255",
        "fc00::1",  # unique local
        "fe80::1",  # link-local
        "ff02::1",  # multicast
        "::",
        "::ffff:10.0.0.1",  # IPv4-mapped private
        "::ffff:169.254.169.254",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_inward_addresses_are_refused_even_where_loopback_is_allowed(address: str) -> None:
    assert ip_allowed(address, []) is False
    assert ip_allowed(address, LOOPBACK) is False


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_refused_unless_allowed(address: str) -> None:
    assert ip_allowed(address, []) is False
    assert ip_allowed(address, LOOPBACK) is True


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert ip_allowed(address, []) is True


def test_an_allowed_network_opens_that_network_only() -> None:
    office = parse_networks(["10.20.0.0/16"])
    assert ip_allowed("10.20.3.4", office) is True
    assert ip_allowed("::ffff:10.20.3.4", office) is True
    assert ip_allowed("10.21.0.1", office) is False
    assert ip_allowed("127.0.0.1", office) is False


def test_a_literal_address_is_judged_without_a_lookup() -> None:
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=[]):
        for host in ("10.0.0.1", "169.254.169.254", "224.0.0.1", "[::1]", "127.0.0.1"):
            verdict = address_allowed(host, 80)
            assert (verdict.allowed, verdict.code, verdict.addresses) == (
                False,
                "private_address",
                (),
            )
    with override_settings(PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        verdict = address_allowed("127.0.0.2", 8080)
    assert verdict.allowed and [sockaddr for _, sockaddr in verdict.addresses] == [
        ("127.0.0.2", 8080)
    ]


def test_a_bad_network_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33'")):
        parse_networks(["127.0.0.0/8", "10.0.0.0/33"])
