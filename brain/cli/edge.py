"""`brain mqtt start|stop|status` and `brain bridge mqtt|status`: arguments and output."""

from __future__ import annotations

import argparse
import json
import sys

MQTT_DESCRIPTION = """\
Manage the local MQTT broker for PLCs, gateways and SCADA: Debian's mosquitto on
mqtt.host:mqtt.port (127.0.0.1:1883), username/password required, persistent
sessions. Config, data and logs live under <paths.state>/mqtt. The password is
$BRAIN_MQTT_PASSWORD if set, else <paths.state>/mqtt/secrets/password, which
start creates (random, mode 600) when missing; see docs/edge.md."""

MQTT_EPILOG = """\
examples:
  brain mqtt start                         start mosquitto (or find it running)
  brain mqtt status --json                 running, reachable, pid, port
  BRAIN__MQTT__PORT=11883 brain mqtt start another port
  brain mqtt stop"""

BRIDGE_DESCRIPTION = """\
mqtt: bridge MQTT into Kafka until stopped (Ctrl-C / SIGTERM). Subscribes, QoS 1 with
a persistent session, to Sparkplug B (spBv1.0/<group>/N|D BIRTH|DATA|DEATH/...) and
plain JSON (brain/json/<group>/<edge_node>/<device>), maps group -> site, edge node
-> line, device -> device, metric -> sensor by conf/edge.yaml, and produces
telemetry and machine_state records to <industry>.<record_type>. A message it cannot
bridge (undecodable, data before birth, unknown alias, sequence gap, unknown device)
goes to bridge.dead_letter with its reason and raw bytes; on alias and sequence
problems it asks the edge node to rebirth (NCMD Node Control/Rebirth).
status: the bridge's ledger: received = bridged + dead-lettered + left unacknowledged
+ QoS 0 lost + in flight (exit 1 if not)."""

BRIDGE_EPILOG = """\
examples:
  brain bridge mqtt                        run until Ctrl-C
  brain bridge mqtt --once                 drain what the broker holds, stop after 3 s idle
  brain bridge mqtt --once --max-messages 100 --idle-timeout 10 --json
  brain bridge status                      the ledger and whether it balances
  brain bridge status --json"""


def add_mqtt_arguments(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = MQTT_DESCRIPTION, MQTT_EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("action", choices=["start", "stop", "status"],
                   help="start: idempotent, returns once an authenticated client is accepted; stop: graceful, "
                        "frees the port; status: exit 0 if running, 3 if not")
    p.add_argument("--json", action="store_true", help="print the resulting status as JSON")


def run_mqtt(args, cfg) -> int:
    from brain.cli.service import run_action
    from brain.edge import broker

    return run_action(broker, "mqtt", args.action, args.json, cfg)


def add_bridge_arguments(p: argparse.ArgumentParser) -> None:
    p.description, p.epilog = BRIDGE_DESCRIPTION, BRIDGE_EPILOG
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("action", choices=["mqtt", "status"], help="mqtt: run the bridge; status: its ledger")
    p.add_argument("--once", action="store_true",
                   help="stop when no message arrived for --idle-timeout seconds (default 3)")
    p.add_argument("--max-messages", type=int, metavar="N", help="stop after N messages received and settled")
    p.add_argument("--idle-timeout", type=float, metavar="S", help="stop after S seconds without a message")
    p.add_argument("--json", action="store_true", help="print the run's counts (or the ledger) as JSON")


def run_bridge(args, cfg) -> int:
    from brain.edge import bridge

    if args.action == "status":
        st = bridge.status(cfg)
        if args.json:
            print(json.dumps(st, indent=2))
        else:
            print(_ledger_text(st))
        return 0 if st["balanced"] else 1
    say = (lambda m: print(m, file=sys.stderr)) if args.json else print
    result = bridge.Bridge(cfg, log=say).run(once=args.once, max_messages=args.max_messages,
                                             idle_timeout=args.idle_timeout)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"bridge: {result['received']} message(s) received, {result['bridged']} bridged "
              f"({result['records_produced']} record(s)), {result['dead_lettered']} dead-lettered, "
              f"{result['left_unacknowledged']} left unacknowledged for redelivery")
    return 0


def _ledger_text(st: dict) -> str:
    lines = [f"bridge ledger {st['ledger']} (updated {st['updated_at'] or 'never'})",
             f"  received             {st['received']}",
             f"  bridged              {st['bridged']}  ({st['records_produced']} records produced)",
             f"  dead-lettered        {st['dead_lettered']}  -> {st['dead_letter_topic']}",
             f"  left unacknowledged  {st['left_unacknowledged']}  (redelivered by the broker)",
             f"  QoS 0 lost           {st['qos0_lost']}  (awaited Kafka when it failed; MQTT never resends QoS 0)",
             f"  in flight            {st['in_flight']}  (awaiting Kafka at the last save)",
             f"  rebirths requested   {st['rebirths_requested']}"]
    for title, key in (("dead letters by reason", "dead_letters_by_reason"), ("records by topic", "records_by_topic"),
                       ("metrics skipped", "metrics_skipped")):
        if st[key]:
            lines.append(f"  {title}: " + ", ".join(f"{k} {v}" for k, v in st[key].items()))
    verdict = "balanced" if st["balanced"] else "NOT balanced"
    lines.append(f"{verdict}: received {st['received']} = bridged {st['bridged']} + dead-lettered "
                 f"{st['dead_lettered']} + left unacknowledged {st['left_unacknowledged']} + QoS 0 lost "
                 f"{st['qos0_lost']} + in flight {st['in_flight']}")
    return "\n".join(lines)
