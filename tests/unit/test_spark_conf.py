"""Spark settings that decide speed: which JVM flags the driver and executors get."""

from __future__ import annotations

import os

from brain import config
from brain.spark import codegen_conf, codegen_for, compiles, session_conf

JIT = "-XX:-DontCompileHugeMethods"


def _conf(tmp_path, **env) -> dict[str, str]:
    return session_conf(config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path), **env}))


def test_driver_and_executors_jit_compile_huge_generated_methods_by_default(tmp_path):
    conf = _conf(tmp_path)
    assert JIT in conf["spark.driver.extraJavaOptions"].split()
    assert JIT in conf["spark.executor.extraJavaOptions"].split()


def test_huge_method_jit_can_be_turned_off(tmp_path):
    conf = _conf(tmp_path, BRAIN__SPARK__JIT_HUGE_METHODS="false")
    assert JIT not in conf["spark.driver.extraJavaOptions"]
    assert JIT not in conf["spark.executor.extraJavaOptions"]
    assert "-Dderby.system.home=" in conf["spark.driver.extraJavaOptions"]  # the rest stays


def test_user_java_options_reach_driver_and_executors(tmp_path):
    conf = _conf(tmp_path, BRAIN__SPARK__JAVA_OPTIONS="-XX:+UseG1GC -Dx=1")
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert conf[key].split()[-2:] == ["-XX:+UseG1GC", "-Dx=1"]
        assert JIT in conf[key].split()



def test_metaspace_threshold_reaches_driver_and_executors_and_can_be_left_to_the_jvm(tmp_path):
    conf = _conf(tmp_path)
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert "-XX:MetaspaceSize=512m" in conf[key].split()
    for key in ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"):
        assert "MetaspaceSize" not in _conf(tmp_path, BRAIN__SPARK__METASPACE_SIZE="")[key]


def test_the_session_jvm_runs_with_the_metaspace_threshold(spark):
    """What the flag is for: the driver JVM's first metaspace-triggered GC waits for 512 MB."""
    jvm = spark._jvm
    bean = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean"))
    assert int(bean.getVMOption("MetaspaceSize").getValue()) == 512 * 1024 * 1024

def test_delta_log_replay_is_one_task_on_a_laptop_and_parallel_on_the_cluster(tmp_path):
    assert _conf(tmp_path)["spark.databricks.delta.snapshotPartitions"] == "1"
    cluster = _conf(tmp_path, BRAIN_ENV="cluster", BRAIN_S3_ACCESS_KEY="k", BRAIN_S3_SECRET_KEY="s")
    assert int(cluster["spark.databricks.delta.snapshotPartitions"]) > 1


def test_python_call_sites_are_off_by_default_and_can_be_turned_on(tmp_path):
    assert _conf(tmp_path)["spark.python.sql.dataFrameDebugging.enabled"] == "false"
    on = _conf(tmp_path, BRAIN__SPARK__DATAFRAME_CALL_SITES="true")
    assert on["spark.python.sql.dataFrameDebugging.enabled"] == "true"


def test_building_expressions_makes_no_call_site_round_trips(spark, monkeypatch):
    """Each Spark function call used to cost 8-12 py4j round trips telling the JVM its Python call
    site; the clean stage's checks are ~900 such calls per record type."""
    import py4j.clientserver
    from pyspark.sql import functions as F

    from brain.clean.fate import Limits, _classify_steps
    from brain.industries.energy import ENERGY_METER

    sent: list[str] = []
    send = py4j.clientserver.ClientServerConnection.send_command

    def counting(self, command):
        sent.append(command)
        return send(self, command)

    monkeypatch.setattr(py4j.clientserver.ClientServerConnection, "send_command", counting)
    _classify_steps(ENERGY_METER, Limits(1_048_576, 300, 30), F.col("ingest_ts"))
    assert len(sent) > 1000  # the check table was built, through the JVM
    assert not [c for c in sent if "PySparkCurrentOrigin" in c]
    assert len(sent) < 10_000  # ~6,000 without the call sites, ~15,600 with them


def test_file_listing_parallelism_is_small_on_a_laptop_and_larger_on_the_cluster(tmp_path):
    assert _conf(tmp_path)["spark.sql.sources.parallelPartitionDiscovery.parallelism"] == "4"
    cluster = _conf(tmp_path, BRAIN_ENV="cluster", BRAIN_S3_ACCESS_KEY="k", BRAIN_S3_SECRET_KEY="s")
    assert int(cluster["spark.sql.sources.parallelPartitionDiscovery.parallelism"]) > 4


def test_vacuum_of_a_small_table_runs_a_few_tasks(spark, tmp_path):
    """Delta's VACUUM lists files with spark.sql.sources.parallelPartitionDiscovery.parallelism tasks
    whatever the table's size: Spark's default of 10,000 made each VACUUM of `brain maintain` (one per
    table) take 12-23 s on two cores."""
    path = str(tmp_path / "t")
    for _ in range(3):
        spark.range(10).write.format("delta").mode("append").save(path)
    sc = spark.sparkContext
    sc.setJobGroup("vacuum-tasks", "VACUUM of a three-file table")
    try:
        spark.sql(f"VACUUM delta.`{path}` RETAIN 168 HOURS").collect()
    finally:
        sc.setJobGroup("idle", "idle")
    tracker = sc.statusTracker()
    stages = [s for j in tracker.getJobIdsForGroup("vacuum-tasks") for s in tracker.getJobInfo(j).stageIds]
    tasks = sum(tracker.getStageInfo(s).numTasks for s in stages)
    assert stages and tasks < 500, tasks
    assert spark.read.format("delta").load(path).count() == 30


def test_compiled_classes_kept_are_many_more_than_sparks_default(tmp_path):
    assert _conf(tmp_path)["spark.sql.codegen.cache.maxEntries"] == "2000"
    assert _conf(tmp_path, BRAIN__SPARK__CODEGEN_CACHE_ENTRIES="300")["spark.sql.codegen.cache.maxEntries"] == "300"


def test_a_query_seen_before_is_not_compiled_again_after_a_hundred_others(spark):
    """Spark keeps 100 compiled classes by default; one cycle of the four industries needs ~1,400,
    and a warm session recompiled ~3,600 per cycle. 150 queries of different code, then the first
    ones again: with the default they would all compile a second time."""
    metrics = getattr(spark._jvm, "org.apache.spark.metrics.source.CodegenMetrics")

    def run(i: int) -> None:  # an int literal is written into the generated code: each i is new code
        spark.range(3).selectExpr(f"id * {i + 7} + {i * 3 + 11} AS x").collect()

    with codegen_for(spark, config.load(), None):  # compiled, as a large batch runs
        for i in range(150):
            run(i)
        before = metrics.METRIC_COMPILATION_TIME().getCount()
        for i in range(10):
            run(i)
        assert metrics.METRIC_COMPILATION_TIME().getCount() == before
        run(10_001)  # the count does move for new code
        assert metrics.METRIC_COMPILATION_TIME().getCount() > before


def test_small_workloads_run_interpreted_and_large_ones_compiled(tmp_path):
    cfg = config.load(environ={**os.environ, "BRAIN__PATHS__STATE": str(tmp_path)})
    assert cfg.get("spark.compiled_from_rows") == 20000
    assert not compiles(cfg, 0) and not compiles(cfg, 19_999)
    assert compiles(cfg, 20_000) and compiles(cfg, 1_000_000)
    assert compiles(cfg, None)  # size unknown (an analyst's query): compiled
    always = config.load(environ={**os.environ, "BRAIN__SPARK__COMPILED_FROM_ROWS": "0"})
    assert compiles(always, 0) and compiles(always, 5)
    # The session starts in the mode of a small workload; 0 leaves Spark's default.
    assert {k: v for k, v in _conf(tmp_path).items() if k in codegen_conf(True)} == codegen_conf(False)
    assert {k: v for k, v in _conf(tmp_path, BRAIN__SPARK__COMPILED_FROM_ROWS="0").items()
            if k in codegen_conf(True)} == {"spark.sql.codegen.wholeStage": "true",
                                            "spark.sql.codegen.factoryMode": "FALLBACK"}


def test_an_interpreted_query_compiles_nothing_and_the_session_goes_back_to_its_default(spark):
    """The switch must reach Spark: a query of new code compiles classes only in compiled mode."""
    from pyspark.sql import functions as F

    cfg = config.load()
    metrics = getattr(spark._jvm, "org.apache.spark.metrics.source.CodegenMetrics")

    def compiled_by(i: int) -> int:  # new literals: new code, never in the cache
        before = metrics.METRIC_COMPILATION_TIME().getCount()
        out = (spark.range(50).where(F.col("id") % 7 != i).groupBy((F.col("id") * i) % 3)
               .agg(F.sum("id")).collect())
        assert len(out) == 3
        return metrics.METRIC_COMPILATION_TIME().getCount() - before

    with codegen_for(spark, cfg, 10) as compiled:
        assert not compiled
        interpreted = compiled_by(1_000_003)
    with codegen_for(spark, cfg, 50_000) as compiled:
        assert compiled and spark.conf.get("spark.sql.codegen.wholeStage") == "true"
        compiled_n = compiled_by(1_000_004)
    # Measured 1 against 7: the aggregate still generates one class that has no interpreted form.
    assert interpreted <= 1 and compiled_n >= 3 * max(interpreted, 1)
    # Back to the configured default, whatever the block set.
    assert {k: spark.conf.get(k) for k in codegen_conf(False)} == codegen_conf(compiles(cfg, 0))
    assert compiled_by(1_000_006) <= 1


def test_local_spark_uses_the_local_file_system_without_child_processes(tmp_path):
    from brain.jars import local_fs_jar

    jar = local_fs_jar(config.load())
    assert jar is not None, "make jars builds .jars/localfs/brain-localfs.jar"
    conf = _conf(tmp_path)
    assert conf["spark.hadoop.fs.file.impl"] == "org.enterprisebrain.fs.NoForkLocalFileSystem"
    assert conf["spark.hadoop.fs.AbstractFileSystem.file.impl"] == "org.enterprisebrain.fs.NoForkLocalFs"
    assert conf["spark.driver.extraClassPath"] == str(jar)
    off = _conf(tmp_path, BRAIN__SPARK__LOCAL_FS_WITHOUT_FORKS="false")
    cluster = _conf(tmp_path, BRAIN__SPARK__MASTER="spark://10.0.0.5:7077")
    for c in (off, cluster):  # a cluster's executors would not have the jar: Hadoop's own stays
        assert "spark.hadoop.fs.file.impl" not in c and "spark.driver.extraClassPath" not in c


def test_files_and_renames_through_the_local_file_system(spark, tmp_path):
    """What Hadoop's local file system did with `chmod` and `readlink`, done in the JVM: new files 0644 and
    directories 0755 (umask 022), renames through FileContext (Delta's log, streaming checkpoints), links."""
    import os
    import stat

    jvm = spark._jvm
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), hadoop)
    assert fs.getRawFileSystem().getClass().getName() == "org.enterprisebrain.fs.NoForkRawLocalFileSystem"

    table = tmp_path / "t"
    for _ in range(2):
        spark.range(5).write.format("delta").mode("append").save(str(table))
    assert spark.read.format("delta").load(str(table)).count() == 10
    data = [p for p in table.iterdir() if p.suffix == ".parquet"]
    assert data and all(stat.S_IMODE(p.stat().st_mode) == 0o644 for p in data)
    assert stat.S_IMODE((table / "_delta_log").stat().st_mode) == 0o755
    assert sorted(p.name for p in (table / "_delta_log").glob("*.json")) == [
        "00000000000000000000.json", "00000000000000000001.json"]

    fc = jvm.org.apache.hadoop.fs.FileContext.getFileContext(hadoop)
    assert fc.getDefaultFileSystem().getClass().getName() == "org.enterprisebrain.fs.NoForkLocalFs"
    Path = jvm.org.apache.hadoop.fs.Path
    (tmp_path / "a.tmp").write_text("x")
    no_options = spark.sparkContext._gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 0)
    fc.rename(Path(f"file://{tmp_path}/a.tmp"), Path(f"file://{tmp_path}/a"), no_options)
    assert (tmp_path / "a").read_text() == "x" and not (tmp_path / "a.tmp").exists()

    os.symlink(table, tmp_path / "link")  # a table reached through a symbolic link reads the same
    assert spark.read.format("delta").load(str(tmp_path / "link")).count() == 10


def test_a_users_driver_class_path_joins_the_local_file_systems(tmp_path):
    """Replacing it would leave fs.file.impl naming a class the JVM cannot load: no session at all."""
    from brain.jars import local_fs_jar

    conf = _conf(tmp_path, BRAIN__SPARK__EXTRA_CONF='{"spark.driver.extraClassPath": "/opt/x.jar"}')
    assert conf["spark.driver.extraClassPath"] == f"{local_fs_jar(config.load())}{os.pathsep}/opt/x.jar"
    # local-cluster[...] runs executors in JVMs of their own, without the jar: not used there.
    assert "spark.hadoop.fs.file.impl" not in _conf(tmp_path, BRAIN__SPARK__MASTER="local-cluster[2,1,1024]")


def test_a_lake_on_s3a_keeps_both_class_paths(tmp_path, monkeypatch):
    """The s3a connector's jars go on the driver's class path too; neither may replace the other."""
    from brain.jars import local_fs_jar

    monkeypatch.setenv("BRAIN_S3_ACCESS_KEY", "k")
    monkeypatch.setenv("BRAIN_S3_SECRET_KEY", "s")
    conf = _conf(tmp_path, BRAIN__LAKE__ROOT="s3a://b/lake", BRAIN__OBJECT_STORE__ENDPOINT="http://127.0.0.1:1")
    entries = conf["spark.driver.extraClassPath"].split(os.pathsep)
    assert entries[0] == str(local_fs_jar(config.load()))
    assert len(entries) > 1 and conf["spark.hadoop.fs.file.impl"].startswith("org.enterprisebrain.")
