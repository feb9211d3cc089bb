"""The edge bridge's speed: Sparkplug B metrics/s from MQTT into Kafka (``bridge_rps``).

The project's mosquitto (brain.edge.broker, on ``BRAIN_BENCH_MQTT_PORT``) and the
bench Kafka broker. An edge node (paho, QoS 1) publishes its births and then N
DDATA messages of M metrics each while the bridge is away: they wait in the
bridge's persistent session, so the figure is the bridge's own pace (read,
translate, produce, wait for Kafka's acks, PUBACK), not the publisher's. The
clock runs from the first message the bridge receives to the end of its run
(every Kafka send acknowledged, producer flushed), and the records Kafka then
holds must equal N x M (plus the births' readings). ``cpu_s`` is the CPU time
the bridge's process used over the same span and ``rps_per_cpu_s`` the metrics
per CPU second: on a shared, loaded machine the wall clock also measures the
neighbours, the CPU time much less so.
"""

from __future__ import annotations

import os
import time
import uuid

MQTT_PORT = int(os.environ.get("BRAIN_BENCH_MQTT_PORT", "29883"))
NS = "spBv1.0/baotou-steel"
DEVICE_TOPIC = f"{NS}/DDATA/gw-bf-1/BlastFurnace"
# Mapped metrics of conf/edge.yaml's baotou-steel furnace (alias -> name); every one becomes a telemetry record.
ALIASES = {10: "Furnace/Temperature", 11: "Furnace/CO", 12: "Furnace/HotBlastPressure", 13: "Output/Rate"}


def _edge_node(cfg, port: int):
    import paho.mqtt.client as mqtt

    from brain.edge import broker

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-node-{uuid.uuid4().hex[:6]}")
    client.username_pw_set(*broker.credentials(cfg))
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def _publish(cfg, port: int, messages: int, metrics: int) -> float:
    """Births, then ``messages`` DDATA of ``metrics`` readings each (aliases in turn, distinct
    timestamps so every reading is its own record); returns the seconds publishing took."""
    from brain.edge import payload
    from brain.edge.sparkplug_b_pb2 import Double, UInt64

    node = _edge_node(cfg, port)
    now = int(time.time() * 1000) - 3_600_000
    t = time.perf_counter()
    try:
        sent = [node.publish(f"{NS}/NBIRTH/gw-bf-1", payload.encode(
            [{"name": "bdSeq", "datatype": UInt64, "value": 0}], seq=0, timestamp=now), qos=1)]
        sent.append(node.publish(f"{NS}/DBIRTH/gw-bf-1/BlastFurnace", payload.encode(
            [{"name": name, "alias": a, "datatype": Double, "value": 1.0} for a, name in ALIASES.items()],
            seq=1, timestamp=now), qos=1))
        aliases = list(ALIASES)
        for i in range(messages):
            body = payload.encode([{"alias": aliases[j % len(aliases)], "datatype": Double, "value": 1000.0 + j,
                                    "timestamp": now + 1 + i * metrics + j} for j in range(metrics)],
                                  seq=(2 + i) % 256)
            sent.append(node.publish(DEVICE_TOPIC, body, qos=1))
        for info in sent:
            info.wait_for_publish(timeout=60)
        return time.perf_counter() - t
    finally:
        node.loop_stop()
        node.disconnect()


def measure(cfg_factory, messages: int, metrics: int = 10, profile: bool = False, log=print) -> dict:
    """``cfg_factory(**env)`` -> a config with those BRAIN__ variables set (bench.env.scoped's keys)."""
    from brain.edge import broker
    from brain.edge.bridge import Bridge
    from brain.ingest import kafka_io

    run = uuid.uuid4().hex[:8]
    cfg = cfg_factory(**{"mqtt.port": str(MQTT_PORT), "bridge.client_id": f"bench-bridge-{run}",
                         "bridge.state_dir": f"bench-bridge-{run}", "bridge.kafka_timeout_s": "30"})
    started = not broker.status(cfg).running
    broker.start(cfg, log=log)
    try:
        # The persistent session must exist before the node publishes (QoS 1 subscriber).
        Bridge(cfg, log=lambda m: None).run(once=True, idle_timeout=0.2)
        publish_s = _publish(cfg, MQTT_PORT, messages, metrics)

        class Timed(Bridge):
            first = first_cpu = None

            def _on_message(self, client, userdata, msg):
                if Timed.first is None:
                    Timed.first, Timed.first_cpu = time.perf_counter(), time.process_time()
                super()._on_message(client, userdata, msg)

        bridge = Timed(cfg, log=lambda m: None)
        total = messages + 2  # with the births
        if profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            res = prof.runcall(bridge.run, once=True, max_messages=total, idle_timeout=10)
            stats = pstats.Stats(prof).sort_stats("cumulative")
            stats.print_stats(25)
        else:
            res = bridge.run(once=True, max_messages=total, idle_timeout=10)
        seconds = time.perf_counter() - (Timed.first or time.perf_counter())
        # CPU seconds of this process (the bridge's thread and the producer's librdkafka threads; the
        # publisher is done): on a shared machine the wall clock measures the neighbours too.
        cpu_s = time.process_time() - (Timed.first_cpu or time.process_time())
        topic = f"{cfg.get('kafka.topic_prefix')}raw_materials.telemetry"
        held = sum(t.total for t in kafka_io.describe_topics(cfg, [topic]))
        records = messages * metrics + len(ALIASES)  # the DBIRTH's values are readings too
        return {"messages": messages, "metrics_per_message": metrics, "records_expected": records,
                "records_in_kafka": held, "received": res["received"], "dead_lettered": res["dead_lettered"],
                "seconds": round(seconds, 3), "cpu_s": round(cpu_s, 3), "publish_s": round(publish_s, 3),
                "rps_per_cpu_s": round(held / cpu_s, 1) if cpu_s else None,
                "rps": round(held / seconds, 1) if seconds else None,
                "messages_per_s": round(res["received"] / seconds, 1) if seconds else None,
                "max_pending": cfg.get("bridge.max_pending", type_=int)}
    finally:
        if started:
            broker.stop(cfg, log=log)


def main() -> None:
    """``python -m bench.bridge [messages] [metrics] [--profile]``: the measurement alone on the bench broker."""
    import json
    import sys

    from bench import env

    argv = [a for a in sys.argv[1:] if a != "--profile"]
    work = env.new_workdir()
    env.isolate(work)
    from brain import config

    cfg = config.load()
    with env.Broker(cfg, log=print):
        out = measure(lambda **k: env.scoped(work, "bridge", env.new_prefix("b"), **k),
                      int(argv[0]) if argv else 500, int(argv[1]) if len(argv) > 1 else 10,
                      profile="--profile" in sys.argv)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
