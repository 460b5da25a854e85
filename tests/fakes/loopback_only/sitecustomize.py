"""Loaded (through PYTHONPATH) by every Python process of the VirtualBox tests: the fake
VBoxManage and the module under test. Any connection to a non-loopback address is refused
and logged to $LOOPBACK_GUARD_LOG, so a test can prove nothing went to 192.168.99.x."""

import ipaddress
import os
import socket

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _check(address):
    if isinstance(address, tuple):
        try:
            loopback = ipaddress.ip_address(address[0]).is_loopback
        except ValueError:
            loopback = address[0] == "localhost"
        if not loopback:
            with open(os.environ.get("LOOPBACK_GUARD_LOG", os.devnull), "a") as log:
                log.write("refused connection to %r\n" % (address,))
            raise PermissionError("loopback_only: connection to %r refused" % (address,))


def connect(self, address):
    _check(address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(address)
    return _connect_ex(self, address)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
