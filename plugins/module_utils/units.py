# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One parser per notion: durations and published ports. A leaf: pure, imports nothing of ours.

Each parser raises ValueError (or returns None, for go_duration) and leaves the wording of the
error to its caller, which knows the option or key path to name.

Durations come in two dialects, with two entry points:

- ``go_duration(text)``: Go's time.ParseDuration, what compose files and the docker CLI take
  ("1m30s", "500ms", "-2s"; a bare number other than "0" is not a duration).
- ``seconds_or_duration(value, key)``: the swarm options (node_cert_expiry, ...): a bare number
  is a number of seconds, the unit ``d`` (24h) is known besides Go's, and the value is never
  negative.

Ports: ``parse_port(spec, default_ip)`` reads docker's ``[ip:]host_port:container_port[/proto]``;
the address used when the spec names none is the caller's choice (docker publishes on every
address, the lab and the QEMU forwards on loopback only), and so is the meaning of a lone port
(``bare``: refused, or host = container as the QEMU forwards take it).
"""

from __future__ import annotations

import re
from collections import namedtuple
from decimal import Decimal

_GO_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 10 ** 6, "s": 10 ** 9,
             "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}
_DAY = 86400 * 10 ** 9
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_GO_PART = re.compile(_NUMBER + r"(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_DAY_PART = re.compile(_NUMBER + r"(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)")


def _sum_parts(text, part, units):
    """Nanoseconds of a run of <number><unit> parts filling the whole text; None if it does not."""
    pos, total = 0, Decimal(0)
    while pos < len(text):
        match = part.match(text, pos)
        if not match:
            return None
        total += Decimal(match.group(1)) * units[match.group(2)]
        pos = match.end()
    return int(total)


def go_duration(text):
    """Go's time.ParseDuration, in nanoseconds; None when ``text`` is not a duration."""
    text = text.strip()
    sign = 1
    if text and text[0] in "+-":
        sign, text = (-1 if text[0] == "-" else 1), text[1:]
    if text == "0":
        return 0
    if not text:
        return None
    total = _sum_parts(text, _GO_PART, _GO_UNITS)
    return None if total is None else sign * total


def seconds_or_duration(value, key):
    """'2160h', '90d', '1h30m', '45s', or a number of seconds (int or digits) -> nanoseconds.

    ValueError naming ``key`` when it is none of these.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value * 10 ** 9
    text = str(value).strip()
    if text.isdigit():
        return int(text) * 10 ** 9
    total = _sum_parts(text, _DAY_PART, dict(_GO_UNITS, d=_DAY)) if text else None
    if total is None:
        raise ValueError("%s: %r is not a duration (examples: 2160h, 90d, 1h30m, 45s)." % (key, value))
    return total


Port = namedtuple("Port", "ip host_port container_port proto")
PROTOCOLS = ("tcp", "udp", "sctp")
_PORT_NUMBER = re.compile(r"\d{1,5}")


def _port_number(text, allow_empty):
    if allow_empty and text == "":
        return None
    if not _PORT_NUMBER.fullmatch(text):
        raise ValueError("%r is not a port number" % text)
    number = int(text)
    if not 0 < number < 65536:
        raise ValueError("port %d is out of range (1-65535)" % number)
    return number


def parse_port(spec, default_ip, any_host_port=False, bare=None):
    """'[ip:]host_port:container_port[/proto]' -> Port(ip, host_port, container_port, proto).

    ``default_ip``: the address when the spec names none. ``any_host_port``: an empty host port
    ("127.0.0.1::80") is allowed and gives host_port None (the engine picks one, as
    ``docker run -p ip::port`` does). An IPv6 address may be written in brackets.
    ``bare``: what a lone port ("80") means. None: refused (for docker and compose it names the
    container port only, which no caller here takes); "same": the host port and the container
    port, as the QEMU forwards take it.
    ValueError saying what is wrong (the caller names the spec and the option).
    """
    if bare not in (None, "same"):
        raise ValueError("bare: %r is not None or 'same'" % (bare,))
    text, _, proto = str(spec).partition("/")
    proto = proto or "tcp"
    parts = text.rsplit(":", 2)
    if len(parts) == 1 and bare == "same":
        parts = [default_ip, parts[0], parts[0]]
    elif len(parts) == 2:
        parts.insert(0, default_ip)
    if len(parts) != 3 or proto not in PROTOCOLS:
        raise ValueError("expected [ip:]host_port%s[/%s]" % (
            "[:container_port]" if bare == "same" else ":container_port", "|".join(PROTOCOLS)))
    ip = parts[0][1:-1] if parts[0].startswith("[") and parts[0].endswith("]") else parts[0]
    return Port(ip, _port_number(parts[1], any_host_port), _port_number(parts[2], False), proto)
