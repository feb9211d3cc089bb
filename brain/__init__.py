"""Enterprise Brain: an industrial data lakehouse (Kafka -> Spark -> Delta Lake)."""

__version__ = "0.1.0"
