"""Turning exceptions into one readable line for the operator."""

from __future__ import annotations


def explain(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    # Spark/py4j errors carry a JVM stack trace; the first lines say what happened.
    if "\n" in text and ("org.apache" in text or "py4j" in text or "JVM" in text):
        text = "\n".join(text.splitlines()[:6])
    return f"{type(exc).__name__}: {text}"
