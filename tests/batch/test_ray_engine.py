"""``agentexec batch --engine ray`` against a real Ray cluster that cannot see the test's directory.

The cluster runs in its own mount namespace with an empty tmpfs over the directory holding the
user's project (its executor module, task files and workspaces), so a passing test proves that
the module, the config and the workspaces travelled with the tasks and the logs came back.
Every Ray process is told its node address is 127.0.0.1, and the test checks that nothing Ray
runs listens anywhere but on loopback.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import read_log, run_cli, write_json

pytestmark = pytest.mark.ray

try:
    import ray  # noqa: F401
except ImportError:
    pytest.skip("ray is not installed: pip install '.[ray]'", allow_module_level=True)

#: Ray maps 127.0.0.1 to the machine's outward address unless told this is a single-node setup.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}

OPS = '''
import os
import signal
import time

from agentexec.executors import ActionExecutor, action


class ShippedExecutor(ActionExecutor):
    @action
    def greet(self, name: str) -> str:
        """Say hello from wherever this module ended up."""
        return f"hello {name} from {__file__}"

    @action
    def hang(self) -> str:
        """Never return, even when asked politely."""
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(1)

    @action
    def kill9(self) -> str:
        """SIGKILL the worker process."""
        os.kill(os.getpid(), signal.SIGKILL)
        return "unreachable"
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ray_env(token_file: Path) -> dict[str, str]:
    """Loopback addresses, and token authentication with a token of the test's own.

    Ray turns token authentication on for ``ray start`` when ``~/.ray/auth_token`` exists but not
    for a driver given an explicit address, so the mode and the token are pinned for both sides.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTEXEC_", "RAY_"))}
    return {**env, **LOOPBACK_ENV, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}


class Cluster:
    """A head node started with ``ray start --block`` in a mount namespace that hides ``hidden``."""

    def __init__(self, hidden: Path, env: dict[str, str]) -> None:
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare(1) to hide the test directory from the cluster")
        self.hidden = hidden
        self.port = free_port()
        self.temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay short
        ray_start = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
            "--node-ip-address=127.0.0.1", f"--port={self.port}", "--num-cpus=2",
            f"--temp-dir={self.temp_dir}", "--include-dashboard=false", "--disable-usage-stats",
        ]  # fmt: skip
        script = 'mount -t tmpfs agentexec-hidden "$0" && test -z "$(ls -A "$0")" && exec "$@"'
        self.log = Path(self.temp_dir) / "ray-start.out"  # a file, not a pipe nobody reads while it runs
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                ["unshare", "-m", "sh", "-c", script, str(hidden), *ray_start],
                cwd="/",
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.address = f"127.0.0.1:{self.port}"
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.log.read_text()
                if "mount" in output and self.process.returncode != 0 and "Ray runtime started" not in output:
                    pytest.skip(f"cannot hide the test directory in a mount namespace: {output.strip()[-200:]}")
                raise AssertionError(f"ray start exited {self.process.returncode}: {output[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the Ray head did not come up within 90 s")

    def node_ip(self) -> str:
        """The node address ``ray start`` settled on (and registers with the cluster)."""
        for line in self.log.read_text().splitlines():
            if "Local node IP:" in line:
                return line.rsplit("Local node IP:", 1)[1].strip()
        raise AssertionError(f"no 'Local node IP' in {self.log}")

    def stop(self) -> None:
        """Stop our head (``ray start --block`` tears its processes down on SIGTERM), then its group."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


class ListenerWatch:
    """Samples the listening TCP sockets of Ray's processes and of the driver while a batch runs."""

    NAMES = ("raylet", "gcs_server", "ray::", "RuntimeEnv")

    def __init__(self, driver_pid: int) -> None:
        self.marks = (*self.NAMES, f"pid={driver_pid},")
        self.outside: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ListenerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            listing = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout
            self.samples += 1
            for line in listing.splitlines():
                fields = line.split()
                local = fields[3] if len(fields) > 3 else ""
                if any(mark in line for mark in self.marks) and not _loopback(local):
                    self.outside.add(line)
            self._stop.wait(0.2)


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return host.startswith(("127.", "::ffff:127.")) or host == "::1"


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hidden-from-ray")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    token = tmp_path_factory.mktemp("ray-token") / "auth_token"
    token.write_text(secrets.token_hex(32))
    return ray_env(token)


@pytest.fixture(scope="module")
def cluster(hidden: Path, env: dict[str, str]) -> Iterator[Cluster]:
    head = Cluster(hidden, env)
    try:
        yield head
    finally:
        head.stop()


def make_project(root: Path, name: str, tasks: list[dict[str, Any]]) -> Path:
    project = root / name
    project.mkdir()
    (project / "shipped_ops.py").write_text(OPS)
    (project / "agentexec.toml").write_text('[core]\nruntime_executor = "shipped_ops:ShippedExecutor"\n')
    seed = project / "seed"
    seed.mkdir()
    (seed / "data.txt").write_text("from the driver\n")
    for task in tasks:
        write_json(project / "tasks" / f"{task['id']}.json", task)
    return project


GOOD_TASKS = [
    {
        "id": f"g{n}",
        "workspace": "../seed",
        "actions": [
            {"action": "greet", "args": {"name": f"n{n}"}},
            {"action": "run", "args": {"command": "cat data.txt"}},
        ],
        "check": [{"action": "run", "args": {"command": "grep -q driver data.txt"}}],
    }
    for n in range(3)
] + [
    {"id": "nocheck", "actions": [{"action": "run", "args": {"command": "ls | wc -l"}}]},
    {"id": "checkfails", "actions": [], "check": [{"action": "run", "args": {"command": "test -f nowhere"}}]},
]


def batch(project: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], ListenerWatch]:
    """``agentexec batch tasks ARGS`` in ``project``, watching where it and Ray listen meanwhile."""
    if shutil.which("ss") is None:
        pytest.skip("needs ss (iproute2) to see where Ray listens")
    command = [sys.executable, "-m", "agentexec", "batch", "tasks", *args]
    process = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)  # fmt: skip
    with ListenerWatch(process.pid) as watch:
        try:
            stdout, stderr = process.communicate(timeout=240)
        finally:
            process.kill()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), watch


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """A summary without what may differ between engines: durations and the output directory."""
    tasks = [{k: v for k, v in e.items() if k not in ("duration", "log")} for e in data["tasks"]]
    return {**data, "tasks": tasks}


def test_ray_batch_ships_code_and_workspaces_and_matches_local(cluster: Cluster, hidden: Path, env: dict) -> None:
    project = make_project(hidden, "p1", GOOD_TASKS)
    done, watch = batch(project, env, "--engine", "ray", "--address", cluster.address, "--out", "out-ray", "--json")
    assert done.returncode == 1, done.stderr[-3000:]
    ray_summary = json.loads((project / "out-ray" / "summary.json").read_text())
    statuses = {e["id"]: e["status"] for e in ray_summary["tasks"]}
    assert statuses == {"g0": "passed", "g1": "passed", "g2": "passed", "nocheck": "passed", "checkfails": "failed"}
    log = read_log(project / "out-ray" / "logs" / "g1.jsonl")
    contents = [r.get("content") for r in log if "observation" in r]
    # the module ran from Ray's package cache, not from the (hidden) project directory
    assert contents[0].startswith("hello n1 from ") and str(project) not in contents[0]
    assert contents[1] == "from the driver\n"
    assert log[-1]["result"]["passed"] is True
    assert [r["observation"] for r in read_log(project / "out-ray" / "logs" / "nocheck.jsonl") if "observation" in r]
    # no shared filesystem: the workspaces lived on the workers and only logs and summary came back
    assert not (project / "out-ray" / "workspaces").exists()
    assert watch.samples > 0 and not watch.outside, watch.outside
    assert cluster.node_ip() == "127.0.0.1"

    local = run_cli("batch", "tasks", "--out", "out-local", cwd=project)
    assert local.returncode == 1, local.stderr
    local_summary = json.loads((project / "out-local" / "summary.json").read_text())
    assert comparable(local_summary) == comparable(ray_summary)


def test_ray_batch_isolates_hangs_and_killed_workers(cluster: Cluster, hidden: Path, env: dict) -> None:
    tasks = [
        {"id": "hangs", "actions": [{"action": "hang"}], "timeout": 2},
        {"id": "killed", "actions": [{"action": "kill9"}]},
        {"id": "fine", "actions": [{"action": "greet", "args": {"name": "x"}}]},
    ]
    project = make_project(hidden, "p2", tasks)
    started = time.monotonic()
    done, _ = batch(project, env, "--engine", "ray", "--address", cluster.address, "--out", "out", "--num-cpus", "1")
    assert done.returncode == 1, done.stderr[-3000:]
    assert time.monotonic() - started < 120
    entries = {e["id"]: e for e in json.loads((project / "out" / "summary.json").read_text())["tasks"]}
    assert entries["fine"]["status"] == "passed"
    assert entries["hangs"]["status"] == "error" and entries["hangs"]["outcome"] == "timeout"
    assert entries["killed"]["status"] == "error" and entries["killed"]["outcome"] == "crashed"
    killed = read_log(project / "out" / "logs" / "killed.jsonl")
    assert killed[-1]["result"]["outcome"] == "crashed"
    # the actions a task ran before it was stopped or killed stay in its log, as with the local engine
    assert [e.get("action") for e in killed if "action" in e] == ["kill9"]
    hung = read_log(project / "out" / "logs" / "hangs.jsonl")
    # (stopped at 2 s, on a busy machine possibly before its first action began)
    assert "agentexec" in hung[0] and [e["action"] for e in hung if "action" in e] in ([], ["hang"])
    assert hung[-1]["result"]["outcome"] == "timeout"
    assert "interrupted by the user" not in json.dumps(hung), "a timeout is not a person's Ctrl-C"
    stopped = [e for e in hung if e.get("observation") == "error"]
    assert all("task timeout of 2 s reached" in e["content"] for e in stopped), stopped


def test_a_task_stopped_at_its_timeout_says_so_in_its_log(cluster: Cluster, hidden: Path, env: dict) -> None:
    """The gentle cancel reaches the running action; its log names the timeout, not a Ctrl-C."""
    tasks = [{"id": "slow", "actions": [{"action": "greet", "args": {"name": "x"}}, {"action": "hang"}], "timeout": 8}]
    project = make_project(hidden, "p4", tasks)
    done, _ = batch(project, env, "--engine", "ray", "--address", cluster.address, "--out", "out", "--num-cpus", "1")
    assert done.returncode == 1, done.stderr[-3000:]
    log = read_log(project / "out" / "logs" / "slow.jsonl")
    assert [e["action"] for e in log if "action" in e] == ["greet", "hang"]
    stopped = next(e for e in log if e.get("observation") == "error")
    assert "task timeout of 8 s reached" in stopped["content"], stopped
    assert "interrupted by the user" not in json.dumps(log)


def test_ray_batch_starts_a_loopback_cluster_when_no_address_is_given(hidden: Path, env: dict) -> None:
    project = make_project(hidden, "p3", GOOD_TASKS[:2])
    done, watch = batch(project, env, "--engine", "ray", "--out", "out", "--workers", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((project / "out" / "summary.json").read_text())
    assert summary["totals"]["passed"] == 2
    assert watch.samples > 0 and not watch.outside, watch.outside


def test_an_unreachable_address_fails_in_one_line_after_the_connect_limit(tmp_path: Path, env: dict) -> None:
    project = make_project(tmp_path, "p4", GOOD_TASKS[:1])
    started = time.monotonic()
    done = run_cli(
        "batch", "tasks", "--engine", "ray", "--address", "127.0.0.1:1",
        cwd=project, env={**env, "AGENTEXEC_BATCH_CONNECT_TIMEOUT": "1.5"}, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert time.monotonic() - started < 30
    assert "cannot reach a Ray cluster at 127.0.0.1:1 within 1.5 s" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_sigterm_while_waiting_for_a_cluster_exits_with_a_message(tmp_path: Path, env: dict) -> None:
    project = make_project(tmp_path, "p5", GOOD_TASKS[:1])
    command = [sys.executable, "-m", "agentexec", "batch", "tasks", "--engine", "ray", "--address", "127.0.0.1:1"]
    process = subprocess.Popen(
        command, cwd=project, env={**env, "AGENTEXEC_BATCH_CONNECT_TIMEOUT": "60"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(8)  # past the CLI's start, into the wait for the cluster
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    assert process.returncode in (130, 143), stderr
    assert "agentexec: interrupted" in stderr and "Traceback" not in stderr


def test_a_stale_token_file_is_named_in_one_line(cluster: Cluster, tmp_path: Path, env: dict) -> None:
    project = make_project(tmp_path, "p6", GOOD_TASKS[:1])
    stale = tmp_path / "stale_token"
    stale.write_text(secrets.token_hex(32))
    done = run_cli(
        "batch", "tasks", "--engine", "ray", "--address", cluster.address,
        cwd=project, env={**env, "RAY_AUTH_TOKEN_PATH": str(stale)}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr[-2000:]
    line = done.stderr.strip()
    assert f"the file {stale}" in line and "RAY_AUTH_TOKEN" in line and "RAY_AUTH_MODE" in line, done.stderr[-2000:]


def test_the_local_cluster_ignores_a_stale_token_file_in_home(hidden: Path, env: dict) -> None:
    project = make_project(hidden, "p7", GOOD_TASKS[:1])
    home = hidden / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))
    plain = {k: v for k, v in env.items() if not k.startswith("RAY_AUTH")}
    done, _ = batch(project, {**plain, "HOME": str(home)}, "--engine", "ray", "--out", "out", "--workers", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((project / "out" / "summary.json").read_text())["totals"]["passed"] == 1
