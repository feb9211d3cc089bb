"""How the lake's streaming queries are triggered, shared by ingest (Kafka -> bronze) and
clean (bronze -> silver) so both stages run on the same schedule from one setting."""

from __future__ import annotations

from brain.config import Config


def trigger_options(cfg: Config) -> dict:
    if cfg.get("pipeline.trigger") == "continuous":
        return {"processingTime": str(cfg.get("pipeline.processing_time", "10 seconds"))}
    return {"availableNow": True}
