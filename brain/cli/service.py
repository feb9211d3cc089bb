"""`start|stop|status [--json]` of a service the project runs (Spark Connect, MQTT): one behaviour for each.

A service module has ``start(cfg, log)``, ``stop(cfg, log)`` and ``status(cfg)``; its status has
``running``, ``reachable``, ``detail`` and ``as_dict()``.
"""

from __future__ import annotations

import json
import sys

from brain.config import Config


def run_action(service, name: str, action: str, as_json: bool, cfg: Config) -> int:
    """Run ``action``, print the resulting status (JSON on stdout with ``as_json``, progress on stderr);
    ``status`` exits 0 when the service runs and answers, 3 when not."""
    say = (lambda m: print(m, file=sys.stderr)) if as_json else print  # keep stdout pure JSON
    if action == "start":
        service.start(cfg, log=say)
    elif action == "stop":
        service.stop(cfg, log=say)
    st = service.status(cfg)
    if as_json:
        print(json.dumps(st.as_dict()))
    elif action == "status":
        print(f"{name}: {st.detail}")
    if action == "status":
        return 0 if st.running and st.reachable else 3
    return 0
