"""The four states every managed service's `status` reports (brain.ops.processes.process_status)."""

from __future__ import annotations

import socket

from brain.ops.processes import process_status


def test_the_four_states_against_a_real_loopback_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        ours = process_status(4242, "127.0.0.1", port, "/x/logs", hint="brain kafka start")
        assert (ours.running, ours.reachable) == (True, True)
        assert ours.detail == f"running (pid 4242) on 127.0.0.1:{port}"
        other = process_status(None, "127.0.0.1", port, "/x/logs", name="postgres")
        assert not other.running
        assert other.detail == f"127.0.0.1:{port} is answered by a process this project did not start"
    starting = process_status(4242, "127.0.0.1", port, "/x/logs", name="node 2")
    assert starting.detail == (f"node 2 pid 4242 alive but 127.0.0.1:{port} not accepting connections "
                               f"(starting, or stuck: see /x/logs)")
    assert process_status(None, "127.0.0.1", port, "/x/logs", hint="brain mqtt start").detail == \
        "not running (start it with `brain mqtt start`)"
    assert process_status(None, "127.0.0.1", port, "/x/logs", name="master").detail == "master not running"
