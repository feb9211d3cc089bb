"""The ``quality:`` section of the configuration, read once per validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from brain.config import Config


def _path(cfg: Config, key: str, default: str) -> Path:
    p = Path(str(cfg.get(key, default))).expanduser()
    return p if p.is_absolute() else (cfg.root / p).resolve()


@dataclass(frozen=True)
class QualitySettings:
    gx_dir: Path                 # GX stores: suites as last validated, validation results
    data_docs_dir: Path          # static Data Docs site (index.html)
    data_docs_enabled: bool
    data_docs_assets: Path       # node_modules with local copies of Data Docs' CDN scripts (make web)
    data_docs_runs_limit: int    # newest validation results listed on index.html
    sample_size: int             # failing rows' keys kept per expectation
    sample_column: str           # the key those samples are taken from
    cache_batch: bool            # materialise the batch before validating (GX makes several passes)
    verify_quarantine: bool      # check quarantine row counts against GX (one extra pass)

    @classmethod
    def from_config(cls, cfg: Config) -> QualitySettings:
        return cls(
            gx_dir=_path(cfg, "quality.gx_dir", ".state/gx"),
            data_docs_dir=_path(cfg, "quality.data_docs_dir", ".state/data_docs"),
            data_docs_enabled=bool(cfg.get("quality.data_docs_enabled", True)),
            data_docs_assets=_path(cfg, "quality.data_docs_assets", "web/node_modules"),
            data_docs_runs_limit=int(cfg.get("quality.data_docs_runs_limit", 500)),
            sample_size=int(cfg.get("quality.sample_size", 5)),
            sample_column=str(cfg.get("quality.sample_column", "event_id")),
            cache_batch=bool(cfg.get("quality.cache_batch", True)),
            verify_quarantine=bool(cfg.get("quality.verify_quarantine", True)),
        )
