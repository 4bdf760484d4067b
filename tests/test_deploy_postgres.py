"""The production deployment files: the instance config (deploy/dagster.yaml) on a real
PostgreSQL server, and the image, Helm values and explorer beside the code location.

A throwaway PostgreSQL cluster is created with the machine's own ``initdb``/``pg_ctl``
(``make postgres`` installs Debian's package), the real ``deploy/dagster.yaml`` is put in a
temporary DAGSTER_HOME with the connection in ``DAGSTER_PG_*`` variables, and one day of the
raw GitHub assets runs through that instance against the fake GitHub server. Expected rows
come from the generated world; expected limits come from the YAML files themselves.
"""

import glob
import os
import pwd
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import psycopg2
import pytest
import yaml
from dagster import DagsterInstance, QueuedRunCoordinator
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from assets.github import github_workflow_jobs, github_workflow_runs
from pipelines import store
from pipelines.cli import build_parser
from pipelines.fake_github.generator import FakeWorld
from pipelines.materialize import materialize_range
from pipelines.snapshot import publish, snapshot_path
from reports.explorer.config import ExplorerConfig
from reports.explorer.server import is_loopback, refusal
from tests.conftest import END, free_port, raw_resources

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PG_USER = "dagster"
PG_DB = "ci_metrics_dagster"


def _pg_bin_dir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (PATH first, then Debian's layout)."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        real = Path(os.path.realpath(on_path)).parent
        if (real / "initdb").exists():
            return real

    def version(p: str) -> int:
        m = re.search(r"/postgresql/(\d+)/bin", p)
        return int(m.group(1)) if m else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    found = [d for d in found if os.path.exists(f"{d}/initdb") and os.path.exists(f"{d}/pg_ctl")]
    if not found:
        pytest.fail("PostgreSQL's initdb/pg_ctl not found: `make postgres` installs them")
    return Path(found[-1])


@dataclass
class PostgresServer:
    """A running throwaway cluster and how to reach it."""

    port: int
    password: str
    data: Path

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads its connection from."""
        return {
            "DAGSTER_PG_USERNAME": PG_USER,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_DB": PG_DB,
            "DAGSTER_PG_PORT": str(self.port),
        }

    def connect(self, dbname: str = PG_DB):
        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=PG_USER, password=self.password, dbname=dbname
        )


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free loopback port, stopped (and checked gone) afterwards.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres``
    user and its commands run through ``runuser``.
    """
    bin_dir = _pg_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="ci-metrics-pg-"))  # in /tmp: reachable by postgres
    data, sockets, pwfile, log = base / "data", base / "sock", base / "pw", base / "server.log"
    sockets.mkdir()
    password = secrets.token_urlsafe(18)
    pwfile.write_text(password + "\n")
    as_root = os.geteuid() == 0
    if as_root:
        owner = pwd.getpwnam("postgres")
        for p in (base, sockets, pwfile):
            os.chown(p, owner.pw_uid, owner.pw_gid)

    def run(*cmd: str, timeout: float = 90) -> subprocess.CompletedProcess:
        full = ["runuser", "-u", "postgres", "--", *cmd] if as_root else list(cmd)
        return subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)

    server = None
    try:
        init = run(
            str(bin_dir / "initdb"),
            "-D", str(data),
            "-U", PG_USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",  # the Dagster processes log in with the password
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )  # fmt: skip
        assert init.returncode == 0, init.stdout + init.stderr
        pwfile.unlink()
        for _ in range(3):  # a free port can be taken between choosing and binding it
            port = free_port()
            opts = (
                f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            start = run(
                str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log),
                "-w", "-t", "60", "-o", opts, "start",
            )  # fmt: skip
            if start.returncode == 0:
                server = PostgresServer(port=port, password=password, data=data)
                break
        assert server is not None, log.read_text() if log.exists() else start.stderr
        con = server.connect("postgres")
        try:
            con.autocommit = True  # CREATE DATABASE refuses to run in a transaction
            with con.cursor() as cur:
                cur.execute(f"CREATE DATABASE {PG_DB}")
        finally:
            con.close()
        yield server
    finally:
        pid_file = data / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        if pid is not None:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
            deadline = time.monotonic() + 30
            while psutil.pid_exists(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        shutil.rmtree(base, ignore_errors=True)
        if pid is not None:
            assert not psutil.pid_exists(pid), f"postmaster {pid} still running"


def _deploy_config() -> dict:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


def _world_day(world: FakeWorld, day) -> tuple[set[tuple], int]:
    """Attempt keys and job count the generator made for runs created on ``day``."""
    runs = world.runs_created_between(day, day)
    attempts = {(r.repo, r.run_id, a.run_attempt) for r in runs for a in r.attempts}
    jobs = sum(len(a.jobs) for r in runs for a in r.attempts)
    return attempts, jobs


@pytest.mark.slow
def test_one_day_runs_on_the_postgres_instance(
    postgres: PostgresServer, fake_github, small_world, tmp_path, monkeypatch
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")  # the real file, unchanged
    for key, value in postgres.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    config = _deploy_config()
    db_path = tmp_path / "ci_metrics.duckdb"
    day = END - timedelta(days=1)
    raw_assets = [github_workflow_runs, github_workflow_jobs]

    with DagsterInstance.get() as instance:
        # every kind of state goes to PostgreSQL, runs wait in the queue within the file's limits
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        runs_cfg = config["concurrency"]["runs"]
        assert concurrency.run_queue_config.max_concurrent_runs == runs_cfg["max_concurrent_runs"]
        assert list(concurrency.run_queue_config.tag_concurrency_limits) == list(
            runs_cfg["tag_concurrency_limits"]
        )
        assert concurrency.pool_config.default_pool_limit == 1
        assert not instance.telemetry_enabled

        result = materialize_range(
            day, day, resources=raw_resources(fake_github, db_path), instance=instance
        )
        assert result.success
        run_id = result.run_id

    # What Dagster stored, read straight from PostgreSQL
    con = postgres.connect()
    with con.cursor() as cur:
        cur.execute("SELECT status FROM runs WHERE run_id = %s", [run_id])
        assert cur.fetchall() == [("SUCCESS",)]
        cur.execute(
            "SELECT asset_key, partition FROM event_logs "
            "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            [run_id],
        )
        materialized = cur.fetchall()
        # the pool every DuckDB writer is in got the file's default limit, kept in Postgres
        cur.execute('SELECT "limit" FROM concurrency_limits WHERE concurrency_key = %s', ["duckdb"])
        pool_limits = cur.fetchall()
        cur.execute(
            "SELECT count(*), count(run_id) FROM concurrency_slots WHERE concurrency_key = %s",
            ["duckdb"],
        )
        slots, held = cur.fetchone()
    con.close()
    assert sorted(materialized) == sorted((a.key.to_string(), day.isoformat()) for a in raw_assets)
    default_limit = config["concurrency"]["pools"]["default_limit"]
    assert pool_limits == [(default_limit,)]
    assert (slots, held) == (default_limit, 0)  # one slot, released when the run ended

    # and DuckDB holds exactly that day's runs and jobs
    want_attempts, want_jobs = _world_day(small_world, day)
    assert len(want_attempts) >= 20  # two repos, ~25 runs a day each: not trivially small
    with store.connect(db_path, read_only=True) as duck:
        got = set(
            duck.execute("SELECT repo, run_id, run_attempt FROM raw.workflow_runs").fetchall()
        )
        jobs = duck.execute("SELECT count(*) FROM raw.workflow_jobs").fetchone()[0]
    assert got == want_attempts
    assert jobs == want_jobs


def test_deploy_files_agree():
    """The image, the Helm values and the instance file describe the same deployment."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    instance = _deploy_config()

    # the code server listens where the chart looks for it
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    exposed = re.search(r"^EXPOSE (\d+)", dockerfile, re.M)
    assert exposed and int(exposed.group(1)) == deployment["port"]
    assert re.search(rf'"-p",\s*"{deployment["port"]}"', dockerfile)
    assert deployment["codeServerArgs"] == ["-m", "pipelines.definitions"]
    assert "pipelines.definitions" in dockerfile
    assert deployment["includeConfigInLaunchedRuns"]["enabled"]  # runs get env, secret, volume

    # the DuckDB file is on the claimed volume, in the image and in the chart alike
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    (mount,) = deployment["volumeMounts"]
    (volume,) = deployment["volumes"]
    assert volume["name"] == mount["name"]
    claim = volume["persistentVolumeClaim"]["claimName"]
    (pvc,) = [m for m in values["extraManifests"] if m["kind"] == "PersistentVolumeClaim"]
    assert pvc["metadata"]["name"] == claim
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    for key in ("CI_METRICS_DB", "CI_METRICS_JUNIT_DIR", "CI_METRICS_OUTPUT_DIR"):
        assert env[key].startswith(mount["mountPath"] + "/"), key
        assert re.search(rf"{key}={re.escape(env[key])}\b", dockerfile), key
    assert "GITHUB_TOKEN" not in env  # the token only comes from the Secret
    assert deployment["envSecrets"]

    # one run launcher per run pod, and the same limits as deploy/dagster.yaml
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    chart = values["concurrency"]
    assert chart["enabled"]
    assert chart["pools"]["defaultLimit"] == instance["concurrency"]["pools"]["default_limit"]
    runs = instance["concurrency"]["runs"]
    assert chart["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert chart["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    queued = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queued["maxConcurrentRuns"] is None and not queued["tagConcurrencyLimits"]
    assert values["telemetry"]["enabled"] is False is instance["telemetry"]["enabled"]

    # the image installs the extra that brings PostgreSQL storage and the Kubernetes launcher
    assert re.search(r'pip install "\S+\[deploy\]"', dockerfile)
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=;\s]", d)[0] for d in extra["optional-dependencies"]["deploy"]}
    assert {"dagster-postgres", "dagster-k8s"} <= names
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)


def _explorer_manifests(values: dict) -> tuple[dict, dict]:
    (deployment,) = [
        m
        for m in values["extraManifests"]
        if m["kind"] == "Deployment" and m["metadata"]["name"] == "ci-metrics-explorer"
    ]
    (service,) = [m for m in values["extraManifests"] if m["kind"] == "Service"]
    return deployment, service


def test_the_explorer_runs_beside_the_code_location():
    """The explorer's Deployment and Service in the Helm values: the code location's image
    running ``ci-metrics serve`` on every address, its token from the Secret, the data volume
    read-only, on the volume's node, behind a Service."""
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (code,) = values["dagster-user-deployments"]["deployments"]
    deployment, service = _explorer_manifests(values)
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]

    # the same image, started as the explorer; the command is one the CLI accepts
    assert container["image"] == f"{code['image']['repository']}:{code['image']['tag']}"
    command = container["command"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts and command[1] == "serve"
    args = build_parser().parse_args(command[1:])
    assert args.host == "0.0.0.0" and not is_loopback(args.host)
    (port,) = container["ports"]
    assert port["containerPort"] == args.port
    exposed = re.search(r"^EXPOSE ([\d ]+)$", dockerfile, re.M)
    assert exposed and str(args.port) in exposed.group(1).split()

    # on that address it needs a token: from the code location's Secret, nothing else of it
    assert refusal(args.host, ExplorerConfig(db_path=Path("x"))) is not None
    env = {e["name"]: e for e in container["env"]}
    token = env["CI_METRICS_SERVE_TOKEN"]
    assert "value" not in token
    ref = token["valueFrom"]["secretKeyRef"]
    assert ref["name"] in {s["name"] for s in code["envSecrets"]}
    assert ref["key"] == "CI_METRICS_SERVE_TOKEN"
    assert "GITHUB_TOKEN" not in env and "envFrom" not in container
    assert not any("value" in e and "TOKEN" in e["name"] for e in container["env"])

    # the code location's volume and store, read-only, on the node that holds the volume
    (mount,) = container["volumeMounts"]
    (volume,) = pod["spec"]["volumes"]
    (code_mount,) = code["volumeMounts"]
    (code_volume,) = code["volumes"]
    assert mount["name"] == volume["name"] and mount["readOnly"] is True
    assert volume["persistentVolumeClaim"]["readOnly"] is True
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert claim == code_volume["persistentVolumeClaim"]["claimName"]
    assert mount["mountPath"] == code_mount["mountPath"]
    code_env = {e["name"]: e.get("value") for e in code["env"]}
    assert env["CI_METRICS_DB"]["value"] == code_env["CI_METRICS_DB"]
    assert pod["spec"]["nodeSelector"] == code["nodeSelector"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    # the Service reaches the pod's port
    labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    (svc_port,) = service["spec"]["ports"]
    assert svc_port["targetPort"] in (port["name"], port["containerPort"])
    assert service["spec"]["type"] == "ClusterIP"
    for probe in ("readinessProbe", "livenessProbe"):  # HTTP would need the token
        assert container[probe]["tcpSocket"]["port"] in (port["name"], port["containerPort"])


def _read_only_mount(folder: Path) -> list[str] | None:
    """A command prefix that runs a command with ``folder`` mounted read-only in a private
    mount namespace (as a read-only volume mount gives a pod), or None where this machine
    does not allow it."""
    prefix = [
        "unshare",
        "-m",
        "sh",
        "-c",
        'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && shift && exec "$@"',
        str(folder),
        "--",
    ]
    if not shutil.which("unshare"):
        return None
    probe = subprocess.run([*prefix, "sh", "-c", ': > "$0/probe"', str(folder)], **_QUIET)
    if probe.returncode == 0 or "Read-only file system" not in probe.stderr:
        (folder / "probe").unlink(missing_ok=True)
        return None
    return prefix


_QUIET = {"capture_output": True, "text": True, "timeout": 60}


def test_the_explorer_serves_a_read_only_volume(tmp_path):
    """The explorer's command from the Helm values, over a data folder mounted read-only:
    with the token it answers from the snapshot, without it 401, and it writes nothing."""
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    deployment, _ = _explorer_manifests(values)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    data = tmp_path / "data"
    db = data / "ci_metrics.duckdb"
    with store.connect(db):
        pass
    publish(db)
    before = sorted(p.name for p in data.iterdir())
    prefix = _read_only_mount(data)
    if prefix is None:
        pytest.skip("this machine cannot mount a folder read-only (unshare -m, mount)")
    port = free_port()
    token = secrets.token_hex(16)
    command = list(container["command"])
    command[command.index("--port") + 1] = str(port)
    command[0] = shutil.which(command[0]) or str(Path(sys.executable).parent / command[0])
    env = {**os.environ, "CI_METRICS_DB": str(db), "CI_METRICS_SERVE_TOKEN": token}
    proc = subprocess.Popen(
        [*prefix, *command],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                first = httpx.get(base + "/", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the explorer did not start"
                time.sleep(0.2)
        assert first.status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        for path in ("/", "/runners", "/metrics"):
            got = httpx.get(base + path, headers=auth, timeout=30)
            assert got.status_code == 200, (path, got.text[-500:])
        assert 'data-origin="snapshot"' in httpx.get(base + "/", headers=auth, timeout=30).text
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert token not in out
    assert (
        sorted(p.name for p in data.iterdir())
        == before
        == sorted([db.name, snapshot_path(db).name])
    )
