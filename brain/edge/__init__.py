"""The edge: MQTT into Kafka.

PLCs, gateways and SCADA publish over MQTT, most often as Sparkplug B (Eclipse
Sparkplug 3.0). ``brain mqtt`` runs a local mosquitto broker (``broker``);
``brain bridge mqtt`` (``bridge``) subscribes to Sparkplug B and plain JSON
topics, turns metrics into contract records with the mapping in conf/edge.yaml
(``mapping``) and produces them to the industry topics, or a message it cannot
bridge to ``bridge.dead_letter`` with its reason; ``ledger`` keeps the counts
that prove nothing was lost.
"""
