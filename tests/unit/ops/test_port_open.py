"""port_open on loopback: a socket the kernel connected to itself is not a listener."""

from __future__ import annotations

import socket

from brain.ops.processes import connected_to_itself, port_open


def test_a_socket_connected_to_its_own_port_is_told_apart_from_a_listener():
    # What the kernel does when the source port it picks for a probe is the port being dialled.
    me = socket.socket()
    me.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    me.bind(("127.0.0.1", 0))
    me.connect(me.getsockname())
    try:
        assert connected_to_itself(me)
    finally:
        me.close()

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        client = socket.create_connection(("127.0.0.1", port))
        assert not connected_to_itself(client)
        client.close()
        assert port_open("127.0.0.1", port)
    finally:
        listener.close()
    assert not port_open("127.0.0.1", port)
