"""Headless Chromium for tests of pages we generate (Data Docs, the dashboard).

Chromium comes from Debian's packages (`make browser`, a dependency of `make
test`). Two views of a page, both after its scripts ran: the DOM as text (to
assert on what the page shows) and a PNG screenshot (to check it rendered
something, and for a person to look at). Pages are opened from file:// with
networking off, so a page that still needs a CDN shows up as missing content.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
          "--disable-extensions", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
          "--virtual-time-budget=5000"]


def chromium() -> str:
    """Path of the Chromium binary; fails (not skips) when absent, saying how to install it."""
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        pytest.fail("headless Chromium not found: run `make browser` (Debian package chromium) or set CHROMIUM")
    return exe


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *_FLAGS, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def dump_dom(page: Path) -> str:
    """The page's DOM after its scripts ran."""
    res = _run(["--dump-dom", page.resolve().as_uri()], page.parent)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def screenshot(page: Path, png: Path, width: int = 1280, height: int = 1600) -> Path:
    """A PNG of the page as rendered; asserts the file is a real, non-blank image."""
    png.parent.mkdir(parents=True, exist_ok=True)
    res = _run([f"--window-size={width},{height}", f"--screenshot={png.resolve()}", page.resolve().as_uri()],
               png.parent)
    assert res.returncode == 0 and png.is_file(), res.stderr[-2000:]
    assert distinct_colours(png) > 3, f"{png} is blank"
    return png


def distinct_colours(png: Path, limit: int = 64) -> int:
    """How many distinct pixel values the image has (up to ``limit``): a blank page has 1."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    pos, idat, width, height, colour_type = 8, b"", 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, _, colour_type = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = {2: 3, 6: 4, 0: 1, 4: 2}[colour_type]
    raw = zlib.decompress(idat)
    stride = width * bpp + 1
    seen: set[bytes] = set()
    # Filtered scanlines: sampling raw bytes of unfiltered rows is enough to tell blank from drawn.
    for row in range(0, height, max(1, height // 200)):
        line = raw[row * stride + 1:(row + 1) * stride]
        for x in range(0, len(line) - bpp, bpp * max(1, width // 200)):
            seen.add(line[x:x + bpp])
            if len(seen) >= limit:
                return len(seen)
    return len(seen)
