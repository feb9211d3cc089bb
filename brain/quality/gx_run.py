"""Running a suite with Great Expectations on Spark, and Data Docs.

Context: an ephemeral GX context whose *stores* are files under
``quality.gx_dir`` (suites, validation results) and whose Data Docs site is
``quality.data_docs_dir``. Nothing process-wide is written except those
files, so Airflow tasks of different industries can validate at once
(a file-based GX context would rewrite great_expectations.yml on every
datasource change), and the Data Docs of a later process still list every
earlier run because they are rebuilt from the validation results on disk.

Speed: GX bundles every column-map expectation's unexpected_count (and the
null counts) into ONE Spark aggregation; what multiplies passes is the
per-expectation sample of unexpected values and rows (one or two ``limit``
jobs per expectation, each a full scan when nothing fails). So the checkpoint
runs with BASIC results and ``partial_unexpected_count: 0`` (1 aggregation
+ 1 window job for unique checks), and only expectations that actually
failed are re-run to fetch samples of their failing rows' keys.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from brain.quality.policy import expectation_name
from brain.quality.settings import QualitySettings
from brain.quality.suites import Suite

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

DATASOURCE = "brain_spark"
BATCH_DEFINITION = "new_rows"
SITE = "brain"
# Counts only: one bundled aggregation, no per-expectation sampling jobs.
COUNTS_ONLY = {"result_format": "BASIC", "partial_unexpected_count": 0,
               "return_unexpected_index_query": False}
_SUITE_KEYS = ("name", "expectations", "suite_parameters", "meta", "notes")
_SAMPLE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts", "partial_unexpected_index_list",
                "unexpected_index_column_names")


def make_context(settings: QualitySettings):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        ProgressBarsConfig,
    )

    def files(sub: str) -> dict:
        return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(settings.gx_dir / sub)}

    memory = {"class_name": "InMemoryStoreBackend"}
    stores = {
        "expectations_store": {"class_name": "ExpectationsStore", "store_backend": files("expectations")},
        "validation_results_store": {"class_name": "ValidationResultsStore", "store_backend": files("validations")},
        # Rebuilt from the suite file on every run: no reason to persist them.
        "checkpoint_store": {"class_name": "CheckpointStore", "store_backend": memory},
        "validation_definition_store": {"class_name": "ValidationDefinitionStore", "store_backend": memory},
    }
    sites = {}
    if settings.data_docs_enabled:
        sites[SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(settings.data_docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder",
                                   "validation_results_limit": settings.data_docs_runs_limit},
        }
    config = DataContextConfig(
        stores=stores, expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store", checkpoint_store_name="checkpoint_store",
        data_docs_sites=sites, analytics_enabled=False, progress_bars=ProgressBarsConfig(globally=False))
    return gx.get_context(mode="ephemeral", project_config=config)


def gx_suite_dict(suite: Suite) -> dict:
    """The suite as GX gets it: every expectation's meta.policy is the *effective* policy,
    so Data Docs and the stored results show what was enforced."""
    raw = {k: copy.deepcopy(v) for k, v in suite.raw.items() if k in _SUITE_KEYS}
    for exp, rule in zip(raw["expectations"], suite.rules):
        exp["meta"] = {**(exp.get("meta") or {}), "policy": rule.policy}
    return raw


def result_name(er: Any) -> str:
    cfg = er.expectation_config
    return expectation_name(cfg.type, cfg.kwargs or {}, cfg.meta or {})


class SuiteRun:
    """One checkpoint run of ``suite`` over ``df`` (the batch's new rows)."""

    def __init__(self, settings: QualitySettings, suite: Suite, df: DataFrame, run_name: str,
                 run_time: dt.datetime):
        self.settings, self.suite, self.df = settings, suite, df
        self.run_name, self.run_time = run_name, run_time
        self.context = make_context(settings)
        self.batch_definition = None
        self.key = None
        self.result = None

    def run(self) -> Any:
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        ctx = self.context
        ds = ctx.data_sources.add_or_update_spark(name=DATASOURCE, persist=False)  # we cache ourselves
        self.batch_definition = ds.add_dataframe_asset(name=self.suite.name) \
            .add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        gx_suite = ctx.suites.add_or_update(gx.ExpectationSuite(**gx_suite_dict(self.suite)))
        vd = ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=self.suite.name, data=self.batch_definition, suite=gx_suite))
        checkpoint = ctx.checkpoints.add_or_update(
            gx.Checkpoint(name=self.suite.name, validation_definitions=[vd], actions=[],
                          result_format=COUNTS_ONLY))
        res = checkpoint.run(batch_parameters={"dataframe": self.df},
                             run_id=RunIdentifier(run_name=self.run_name, run_time=self.run_time))
        ((self.key, self.result),) = res.run_results.items()
        return self.result

    def add_samples(self, names: Iterable[str]) -> dict[str, dict]:
        """Re-validate only ``names`` with samples of unexpected values and row keys; splice
        them into the stored result (so Data Docs show them) and return them by name."""
        import great_expectations as gx

        names = set(names)
        if not names or self.settings.sample_size <= 0:
            return {}
        exps = [e for e, r in zip(gx_suite_dict(self.suite)["expectations"], self.suite.rules) if r.name in names]
        fmt: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": self.settings.sample_size,
                               "return_unexpected_index_query": False}
        if self.settings.sample_column in self.df.columns:
            fmt["unexpected_index_column_names"] = [self.settings.sample_column]
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": self.df})
        sampled = batch.validate(gx.ExpectationSuite(name=f"{self.suite.name}.samples", expectations=exps),
                                 result_format=fmt)
        samples = {result_name(er): {k: er.result[k] for k in _SAMPLE_KEYS if k in er.result}
                   for er in sampled.results}
        for er in self.result.results:
            extra = samples.get(result_name(er))
            if extra:
                er.result.update(extra)
        self.context.validation_results_store.set(self.key, self.result)
        return samples

    def docs_resources(self) -> list:
        """What this run's Data Docs pages are built from: its validation result and its suite."""
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
        )

        return [self.key, ExpectationSuiteIdentifier(name=self.suite.name)]


def build_docs(settings: QualitySettings, resources: list, context=None) -> str | None:
    """Rebuild the pages of ``resources`` (validation results, suites) and index.html, pointed
    at local copies of their scripts (brain.quality.docs_assets); the index URL.

    index.html lists every stored run, so building it once for several tables'
    runs costs what building it for one does.
    """
    if not settings.data_docs_enabled or not resources:
        return None
    from brain.quality.docs_assets import localize

    started = time.time() - 1  # file timestamps may be coarser than the clock
    urls = (context or make_context(settings)).build_data_docs(site_names=[SITE], resource_identifiers=resources)
    localize(settings.data_docs_assets, settings.data_docs_dir, since=started)
    return urls.get(SITE)
