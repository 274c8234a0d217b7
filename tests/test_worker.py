"""The warm worker: commands run through it behave as in-process ones (output, exit status, stdio,
cwd, environment, signals), and without a usable worker they silently run in-process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gangrid import worker

# a server whose children run this `main` instead of gangrid's: it reports what the child sees
FAKE_SERVER = """
import json, os, sys, time
from gangrid.worker import serve

def main(argv):
    if argv[0] == "sleep":
        print(os.getpid(), flush=True)
        time.sleep(60)
    if argv[0] == "meet":  # wait until all argv[2] clients of folder argv[1] run at the same time
        open(os.path.join(argv[1], str(os.getpid())), "w").close()
        deadline = time.monotonic() + 10
        while len(os.listdir(argv[1])) < int(argv[2]) and time.monotonic() < deadline:
            time.sleep(0.01)
        return 0 if len(os.listdir(argv[1])) >= int(argv[2]) else 1
    if argv[0] == "seeds":  # the state of the global RNGs a child starts with
        import numpy, torch
        print(json.dumps([torch.initial_seed(), int(numpy.random.randint(2**31))]))
        return 0
    umask = os.umask(0)
    print(json.dumps({"argv": argv, "cwd": os.getcwd(), "test": os.environ.get("GANGRID_TEST"),
                      "worker": os.environ.get("GANGRID_WORKER"), "ppid": os.getppid(), "umask": umask,
                      "stdin": sys.stdin.read(), "argv0": sys.argv[0]}))
    sys.exit(int(argv[1]) if argv[0] == "exit" else 0)

serve(sys.argv[1], float(sys.argv[2]), entry=main, preload=tuple(sys.argv[3:]))
"""


def start(path: Path, *command: str) -> subprocess.Popen:
    """Start a server and wait until its socket accepts."""
    proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the worker did not start"
        time.sleep(0.01)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    assert proc.wait(10) == 0


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("real") / "w.sock"
    proc = start(path, sys.executable, "-m", "gangrid.cli", "worker", "--socket", str(path), "--idle", "30")
    yield proc, path
    stop(proc)
    assert not path.exists()


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory):
    path = tmp_path_factory.mktemp("fake") / "w.sock"
    proc = start(path, sys.executable, "-c", FAKE_SERVER, str(path), "30")
    yield proc, path
    stop(proc)


def gangrid(*args: str, cwd: Path, worker_path: Path | str | None = None, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "GANGRID_WORKER"}
    if worker_path is not None:
        env["GANGRID_WORKER"] = str(worker_path)
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([sys.executable, "-m", "gangrid.cli", *args], cwd=cwd, env={**env, **kwargs.pop("env", {})},
                          capture_output=True, text=True, timeout=60, **kwargs)


@pytest.mark.parametrize("args", [["validate"], ["runs", "--format", "json"], ["--params", "nope.yaml", "validate"],
                                  ["sample", "no_such_study", "run"]])
def test_a_command_through_the_worker_prints_and_exits_as_in_process(real_server, repo_root, capfd, monkeypatch, args):
    expected = gangrid(*args, cwd=repo_root)
    monkeypatch.chdir(repo_root)
    monkeypatch.setenv("GANGRID_WORKER", str(real_server[1]))
    assert worker.delegate(args) == expected.returncode  # not None: the worker ran it
    out, err = capfd.readouterr()
    assert (out, err) == (expected.stdout, expected.stderr)
    if expected.returncode:  # a user error: status 2 and one line, as without the worker
        assert expected.returncode == 2 and len(err.splitlines()) == 1 and err.startswith("error: ")


def test_the_child_gets_the_clients_argv_cwd_environment_umask_and_stdin(fake_server, tmp_path):
    proc = gangrid("echo", "a b", cwd=tmp_path, worker_path=fake_server[1], env={"GANGRID_TEST": "é x"},
                   input="line 1\nline 2\n", stdin=None, umask=0o027)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {"argv": ["echo", "a b"], "cwd": str(tmp_path), "test": "é x", "worker": None,
                    "ppid": fake_server[0].pid, "umask": 0o027, "stdin": "line 1\nline 2\n",
                    "argv0": seen["argv0"]}
    assert seen["argv0"].endswith("cli.py")
    assert gangrid("exit", "7", cwd=tmp_path, worker_path=fake_server[1]).returncode == 7


def test_clients_are_served_concurrently(fake_server, tmp_path):
    procs = [subprocess.Popen([sys.executable, "-m", "gangrid.cli", "meet", str(tmp_path), "4"], stdin=subprocess.DEVNULL,
                              env={**os.environ, "GANGRID_WORKER": str(fake_server[1])}) for _ in range(4)]
    assert [p.wait(30) for p in procs] == [0, 0, 0, 0]


def wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still runs")


def sleeping_client(server: Path, ignore: int | None = None) -> tuple[subprocess.Popen, int]:
    """A client whose child sleeps, with SIGINT handled as in a terminal (or `ignore` ignored); and the child's pid."""
    def dispositions() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if ignore:
            signal.signal(ignore, signal.SIG_IGN)

    client = subprocess.Popen([sys.executable, "-m", "gangrid.cli", "sleep"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "GANGRID_WORKER": str(server)}, preexec_fn=dispositions)
    return client, int(client.stdout.readline())


@pytest.mark.parametrize("how, status", [("SIGINT", 130), ("SIGTERM", 128 + signal.SIGTERM), ("SIGKILL", -signal.SIGKILL)])
def test_a_signalled_or_killed_client_takes_its_child_along(fake_server, how, status):
    client, child = sleeping_client(fake_server[1])
    client.send_signal(getattr(signal, how))
    assert client.wait(10) == status  # SIGINT: KeyboardInterrupt in the child, as in-process
    wait_gone(child)  # SIGINT, SIGTERM: relayed by the client; SIGKILL: the server sees the client hang up


def test_a_signal_the_client_ignores_is_ignored_by_its_child(fake_server):
    client, child = sleeping_client(fake_server[1], ignore=signal.SIGTERM)
    client.send_signal(signal.SIGTERM)
    os.kill(child, signal.SIGTERM)
    time.sleep(0.2)
    assert client.poll() is None
    client.kill()
    wait_gone(child)


def test_without_a_usable_worker_the_command_runs_in_process(repo_root, tmp_path, monkeypatch):
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(stale))  # the file stays, nobody listens: connecting is refused
    expected = gangrid("runs", cwd=repo_root)
    assert expected.returncode == 0 and expected.stdout
    for path in (stale, tmp_path / "missing.sock", ""):
        proc = gangrid("runs", cwd=repo_root, worker_path=path)
        assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected.stdout, expected.stderr)
        monkeypatch.setenv("GANGRID_WORKER", str(path))
        assert worker.delegate(["runs"]) is None
    monkeypatch.delenv("GANGRID_WORKER")
    assert worker.delegate(["runs"]) is None


def test_a_worker_of_another_python_environment_refuses(fake_server, monkeypatch):
    monkeypatch.setattr(worker, "_interpreter", lambda: "another python")
    monkeypatch.setenv("GANGRID_WORKER", str(fake_server[1]))
    assert worker.delegate(["echo"]) is None


def test_an_idle_server_stops_and_removes_its_socket(tmp_path):
    path = tmp_path / "w.sock"
    proc = start(path, sys.executable, "-c", FAKE_SERVER, str(path), "0.2")
    assert proc.wait(10) == 0
    assert not path.exists()


def test_warm_serves_the_command_returns_its_status_and_cleans_up(repo_root):
    script = ("python -c 'from gangrid.worker import delegate; print(delegate([\"validate\"]))' && "
              "echo $GANGRID_WORKER; exit 3")
    proc = subprocess.run([sys.executable, "-m", "gangrid.cli", "warm", "--", "sh", "-c", script], cwd=repo_root,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 3, proc.stderr
    validated, status, path = proc.stdout.splitlines()
    assert "ok" in validated and status == "0"  # delegated: run by the worker, not in-process (None)
    assert path.endswith("w.sock") and not Path(path).parent.exists()


def test_children_start_with_fresh_global_rngs(tmp_path):
    """As separate processes would: unseeded numpy / torch randomness differs between commands."""
    path = tmp_path / "w.sock"
    proc = start(path, sys.executable, "-c", FAKE_SERVER, str(path), "30", "numpy", "torch")
    try:
        seeds = [json.loads(gangrid("seeds", cwd=tmp_path, worker_path=path).stdout) for _ in range(2)]
    finally:
        stop(proc)
    assert seeds[0][0] != seeds[1][0] and seeds[0][1] != seeds[1][1]
