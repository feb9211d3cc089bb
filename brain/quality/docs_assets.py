"""Data Docs that work offline: local copies of the scripts and styles GX's pages load from CDNs.

GX 1.24's templates (great_expectations/render/view/templates: index_page.j2,
page.j2, page_minimal.j2, js_script_imports.j2) load jQuery, Bootstrap,
bootstrap-table and friends from CDNs; without them the index page's run
list (a bootstrap-table filled by a script) stays empty. ``make web``
installs the same versions from npm (web/package.json, exact pins) into
git-ignored web/node_modules; after each Data Docs build, ``localize`` copies
the files under ``<site>/static/vendor/`` and points the pages at them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

VENDOR_DIR = "static/vendor"
# CDN URL in the GX templates -> (npm package, file in it). A new GX version
# with other URLs shows up as a warning from ``localize`` and in the test.
CDN_FILES: dict[str, tuple[str, str]] = {
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed", "build/vega-embed.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("@fortawesome/fontawesome-free", "css/all.min.css"),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        ("popper.js", "dist/umd/popper.min.js"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": ("bootstrap", "dist/js/bootstrap.min.js"),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        ("bootstrap", "dist/css/bootstrap.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        ("bootstrap-table", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        ("bootstrap-table", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        ("bootstrap-table", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    # GX asks for 1.19.0's stylesheet next to 1.19.1's script; one package serves both.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        ("bootstrap-table", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        ("bootstrap-table", "dist/extensions/filter-control/bootstrap-table-filter-control.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        ("bootstrap-datepicker", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        ("bootstrap-datepicker", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        ("@forevolve/bootstrap-dark", "dist/css/bootstrap-prefers-dark.css"),
}
# Folders a copied stylesheet loads by relative URL (all.min.css -> ../webfonts/*).
EXTRA_DIRS = (("@fortawesome/fontawesome-free", "webfonts"),)
# Subresource-integrity and CORS attributes make a browser refuse file:// copies.
_SRI = re.compile(r'\s+(?:integrity|crossorigin)="[^"]*"')
# The navbar logo, fetched with the data context id in its query string; GX ships the same image.
_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/logo-long\.png[^"]*"')
_REMOTE = re.compile(r'<(?:script|link)\b[^>]*(?:src|href)="(https?://[^"]+)"')
_warned: set[str] = set()


class DocsAssetsMissing(RuntimeError):
    """web/node_modules lacks a file Data Docs need (``make web`` was not run)."""


def missing_assets(modules: Path) -> list[str]:
    wanted = [f"{pkg}/{f}" for pkg, f in CDN_FILES.values()] + [f"{pkg}/{d}" for pkg, d in EXTRA_DIRS]
    return sorted({w for w in wanted if not (modules / w).exists()})


def install_vendor(modules: Path, site: Path) -> Path:
    """Copy the assets into ``site``/static/vendor (once; unchanged files are not copied again)."""
    missing = missing_assets(modules)
    if missing:
        raise DocsAssetsMissing(
            f"Data Docs assets missing under {modules}: {', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}. Run `make web` (npm ci in web/; needs npm, e.g. "
            f"`apt-get install npm`, and the npm registry), or set quality.data_docs_assets to a node_modules "
            f"holding web/package.json's packages.")
    vendor = site / VENDOR_DIR
    files = {(pkg, f) for pkg, f in CDN_FILES.values()}
    for pkg, d in EXTRA_DIRS:
        files |= {(pkg, str(p.relative_to(modules / pkg))) for p in (modules / pkg / d).rglob("*") if p.is_file()}
    for pkg, f in sorted(files):
        src, dst = modules / pkg / f, vendor / pkg / f
        if not dst.exists() or dst.stat().st_size != src.stat().st_size:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    return vendor


def rewrite_page(html: str, page_dir: Path, vendor: Path) -> str:
    """``html`` with every known CDN reference pointing at the vendor copy, relative to the page."""
    for url, (pkg, f) in CDN_FILES.items():
        if url in html:
            local = Path(os.path.relpath(vendor / pkg / f, page_dir)).as_posix()
            html = html.replace(f'"{url}"', f'"{local}"')
    logo = Path(os.path.relpath(vendor.parent / "images" / "logo-long.png", page_dir)).as_posix()
    return _SRI.sub("", _LOGO.sub(f'"{logo}"', html))


def remote_references(html: str) -> list[str]:
    """Scripts and stylesheets a page still loads from the network."""
    return _REMOTE.findall(html)


def localize(modules: Path, site: Path, since: float | None = None) -> int:
    """Point the Data Docs pages (those written at or after ``since``; all if None) at local
    copies. Returns the pages rewritten; logs once, and leaves the CDN links, if assets are missing."""
    try:
        vendor = install_vendor(modules, site)
    except DocsAssetsMissing as exc:
        if str(exc) not in _warned:
            _warned.add(str(exc))
            log.warning("%s Until then Data Docs need the internet.", exc)
        return 0
    done = 0
    for page in site.rglob("*.html"):
        if VENDOR_DIR in page.as_posix() or (since is not None and page.stat().st_mtime < since):
            continue
        html = page.read_text(encoding="utf-8")
        new = rewrite_page(html, page.parent, vendor)
        left = remote_references(new)
        if left and "remote" not in _warned:
            _warned.add("remote")
            log.warning("Data Docs page %s still loads %s (not in brain.quality.docs_assets.CDN_FILES: "
                        "a new GX version?)", page, ", ".join(sorted(set(left))))
        if new != html:
            page.write_text(new, encoding="utf-8")
            done += 1
    return done
