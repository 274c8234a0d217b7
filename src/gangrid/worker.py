"""A warm pre-forking worker: `gangrid` commands without paying for `import torch` each time.

`gangrid warm -- dvc repro` starts a server that imports the heavy third-party
modules (torch, numpy, scipy, ...) once, runs the command with
`GANGRID_WORKER=<socket>` in its environment, and stops the server afterwards.
Every `gangrid ...` started with that variable hands its argv, cwd, environment,
umask, sys.path and stdin/stdout/stderr to the server (`delegate`), which forks a
child that becomes that process and runs `gangrid.cli.main`. gangrid itself is
imported afresh in each child, so code edits are always seen. Without a usable
server (variable unset, stale socket) the command simply runs in-process.

Signals: the children stay in the server's session (`warm` starts it in a new
one), so a terminal's Ctrl-C reaches the client only, which relays SIGINT,
SIGTERM and SIGHUP to its child; a client killed outright (SIGKILL) takes its
child along, since the server kills a child whose client hung up.

Protocol, one connection per command: client -> 8-byte length + fds 0-2
(SCM_RIGHTS), then the JSON request; server -> the child's pid (4 bytes; 0 =
refused), later its exit status (4 bytes; 128+N after signal N).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any, Callable, NoReturn

from gangrid.errors import UserError

ENV = "GANGRID_WORKER"
# imported once by the server; never gangrid's own modules (children import those fresh)
PRELOAD = ("numpy", "scipy.linalg", "scipy.special", "scipy.stats", "torch", "torchvision", "PIL.Image",
           "threadpoolctl", "tqdm", "yaml", "jsonschema", "dvclive")
# relayed to the child by the client unless it ignores them (names absent on a platform are skipped)
FORWARDED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
Entry = Callable[[list[str]], Any]
_INT, _LEN = struct.Struct("!i"), struct.Struct("!Q")


def _interpreter() -> str:
    """The Python environment: a server serves clients of its own only (others run in-process)."""
    return f"{sys.prefix} {sys.version}"


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def _recv_int(sock: socket.socket) -> int:
    return _INT.unpack(_recv_exact(sock, _INT.size))[0]


class _Forwarder:
    """While active, the given signals (those not ignored) are sent on to `start(pid)`'s process, held until
    it is known; on exit the handlers are restored and signals held for a process that never came re-raised."""

    def __init__(self, signals: tuple[int, ...]) -> None:
        self.signals, self.pid, self.held, self.previous = signals, 0, [], {}

    def __enter__(self) -> _Forwarder:
        with contextlib.suppress(ValueError):  # not the main thread: signals stay the caller's business
            self.previous = {sig: signal.signal(sig, self._handle) for sig in self.signals
                             if signal.getsignal(sig) != signal.SIG_IGN}
        return self

    def _handle(self, sig: int, frame: object) -> None:
        if not self.pid:
            self.held.append(sig)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def start(self, pid: int) -> None:
        self.pid = pid
        for sig in self.held:
            self._handle(sig, None)
        self.held.clear()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        for sig in self.held:
            signal.raise_signal(sig)


def delegate(argv: list[str]) -> int | None:
    """Run `gangrid <argv>` in the worker named by $GANGRID_WORKER and return its exit status, relaying
    SIGINT/SIGTERM/SIGHUP to it; None when no worker takes it (then the caller runs it in-process)."""
    path = os.environ.get(ENV)
    if not path or not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        return None
    with _Forwarder(FORWARDED) as forwarder, socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(path)
            _send_request(sock, argv)
            pid = _recv_int(sock)
        except (OSError, EOFError):  # missing or stale socket, closed stdio, server gone: nothing ran
            return None
        if not pid:
            return None
        forwarder.start(pid)
        try:
            return _recv_int(sock)
        except (OSError, EOFError):
            print(f"error: the gangrid worker at {path} stopped while running the command", file=sys.stderr)
            return 1


def _send_request(sock: socket.socket, argv: list[str]) -> None:
    ignored = [sig for sig in FORWARDED if signal.getsignal(sig) == signal.SIG_IGN]  # the child ignores them too
    umask = os.umask(0o22)
    os.umask(umask)
    stdio = [[getattr(stream, "encoding", None) or "utf-8", getattr(stream, "errors", None) or "strict",
              bool(getattr(stream, "line_buffering", False)), bool(getattr(stream, "write_through", False))]
             for stream in (sys.stdin, sys.stdout, sys.stderr)]
    data = json.dumps({"argv": argv, "argv0": sys.argv[0] if sys.argv else "gangrid", "cwd": os.getcwd(),
                       "env": dict(os.environ), "umask": umask, "path": sys.path, "stdio": stdio,
                       "ignored": ignored, "interpreter": _interpreter()}, default=str).encode()
    socket.send_fds(sock, [_LEN.pack(len(data))], [0, 1, 2])
    sock.sendall(data)


def serve(socket_path: str, idle_timeout: float, entry: Entry | None = None, preload: tuple[str, ...] = PRELOAD) -> None:
    """Serve `gangrid` commands on the Unix socket `socket_path` until `idle_timeout` seconds pass with no
    command running or arriving, or SIGTERM; the socket file is removed on exit.

    Each command runs in a forked child as `entry(argv)` (default: a freshly imported `gangrid.cli.main`).
    """
    owner = os.getpid()
    signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(0))
    listener = _listen(socket_path)
    try:
        for name in preload:  # no gangrid module, and no torch op: OpenMP pools do not survive a fork
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        running: set[int] = set()
        last = [time.monotonic()]
        listener.settimeout(max(0.01, min(idle_timeout, 1.0)))  # check for idleness at least every second
        while running or time.monotonic() - last[0] < idle_timeout:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            last[0] = time.monotonic()
            pid = _fork(conn, listener, entry)
            if pid:
                running.add(pid)
                threading.Thread(target=_reap, args=(conn, pid, running, last), daemon=True).start()
    finally:
        listener.close()
        if os.getpid() == owner:  # not in a child that failed before it could _exit
            with contextlib.suppress(FileNotFoundError):
                os.unlink(socket_path)


def _listen(path: str) -> socket.socket:
    """A socket listening at `path`, for this user only: bound under a temp name and renamed, so the path
    appears ready."""
    sock = socket.socket(socket.AF_UNIX)
    temp = f"{path}.{os.getpid()}"
    sock.bind(temp)
    os.chmod(temp, 0o600)  # a client chooses what its child imports and runs: this user only
    sock.listen(64)
    os.rename(temp, path)
    return sock


def _fork(conn: socket.socket, listener: socket.socket, entry: Entry | None) -> int:
    """Read a request and fork its child; the child's pid, or 0 (connection closed) when none was started."""
    fds: list[int] = []
    try:
        conn.settimeout(10)
        head, fds, _, _ = socket.recv_fds(conn, _LEN.size, 3)
        request = json.loads(_recv_exact(conn, _LEN.unpack(head)[0])) if len(head) == _LEN.size else {}
        if len(fds) != 3 or request.get("interpreter") != _interpreter():
            conn.sendall(_INT.pack(0))  # the client runs the command in-process
            raise ValueError(f"refused a request from {request.get('interpreter', 'an unknown client')}")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, fds, entry, (listener, conn))
        conn.settimeout(None)
        conn.sendall(_INT.pack(pid))  # a client gone by now is noticed by _reap
        return pid
    except (OSError, EOFError, ValueError) as exc:
        print(f"gangrid worker: {exc}", file=sys.stderr)
        conn.close()
        return 0
    finally:
        for fd in fds:
            os.close(fd)


def _reap(conn: socket.socket, pid: int, running: set[int], last: list[float]) -> None:
    """Wait for child `pid` and send its exit status; if the client hangs up first (it was SIGKILLed: it
    relays other signals), SIGKILL the child too."""
    try:
        with contextlib.suppress(AttributeError, OSError):  # no pidfd (Linux < 5.3): just wait
            pidfd = os.pidfd_open(pid)
            try:
                if pidfd not in select.select([conn, pidfd], [], [])[0]:
                    os.kill(pid, signal.SIGKILL)
            finally:
                os.close(pidfd)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        with contextlib.suppress(OSError):
            conn.sendall(_INT.pack(code if code >= 0 else 128 - code))
    finally:
        conn.close()
        running.discard(pid)
        last[0] = time.monotonic()


def _child(request: dict[str, Any], fds: list[int], entry: Entry | None, sockets: tuple[socket.socket, ...]) -> NoReturn:
    """In the forked child: become the client's process, run the command, exit with its status."""
    code = 1
    try:
        for sig in FORWARDED:  # as in a fresh interpreter started the way the client was
            default = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
            signal.signal(sig, signal.SIG_IGN if sig in request["ignored"] else default)
        for sock in sockets:
            sock.close()
        for target, fd in enumerate(fds):  # received as fds > 2: the server's own 0-2 are open
            os.dup2(fd, target)
            if fd > 2:
                os.close(fd)
        for fd, (name, (encoding, errors, line_buffering, write_through)) in enumerate(zip(
                ("stdin", "stdout", "stderr"), request["stdio"])):
            binary = open(fd, "wb" if fd else "rb", buffering=0 if write_through else -1, closefd=False)
            stream = io.TextIOWrapper(binary, encoding, errors, line_buffering=line_buffering, write_through=write_through)
            setattr(sys, name, stream)
            setattr(sys, f"__{name}__", stream)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ.pop(ENV, None)  # run in here, not delegate again
        os.umask(request["umask"])
        sys.argv = [request["argv0"], *request["argv"]]
        sys.path[:] = request["path"]
        code = _exit_code(_entry(entry)(request["argv"]))
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        atexit._run_exitfuncs()  # as a normal interpreter exit would
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _entry(entry: Entry | None) -> Entry:
    """`entry`, or `gangrid.cli.main` imported afresh from the client's sys.path; numpy's and torch's global
    RNGs reseeded."""
    if "numpy" in sys.modules:  # as in a fresh process (Python's own `random` reseeds itself after fork)
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:  # a fresh torch seeds its default generator randomly too
        sys.modules["torch"].seed()
    if entry is None:
        for name in [name for name in sys.modules if name == "gangrid" or name.startswith("gangrid.")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        entry = importlib.import_module("gangrid.cli").main
    return entry


def _exit_code(value: object) -> int:
    """The exit status of `sys.exit(value)`."""
    if value is None or isinstance(value, int):
        return int(value or 0)
    print(value, file=sys.stderr)
    return 1


def warm(command: list[str], idle_timeout: float = 600.0) -> int:
    """Run `command` with a worker serving it (GANGRID_WORKER set) and return its exit status (128+N after
    signal N); the server is stopped and its temp dir removed afterwards, however the command ends."""
    import shutil
    import subprocess
    import tempfile

    if not command:
        raise UserError("warm: no command given (e.g. gangrid warm -- dvc repro)")
    folder = tempfile.mkdtemp(prefix="gangrid-", dir=None if len(tempfile.gettempdir()) < 60 else "/tmp")
    path = os.path.join(folder, "w.sock")  # AF_UNIX paths: at most 107 bytes
    env = {name: value for name, value in os.environ.items() if name != ENV}  # an enclosing worker serves neither
    server = subprocess.Popen([sys.executable, "-m", "gangrid.cli", "worker", "--socket", path, "--idle", str(idle_timeout)],
                              env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(path):
            if server.poll() is not None or time.monotonic() > deadline:
                raise UserError(f"warm: the gangrid worker did not start (socket {path})")
            time.sleep(0.01)
        child = subprocess.Popen(command, env={**env, ENV: path})
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C reaches the command itself
        try:
            with _Forwarder((signal.SIGTERM, signal.SIGHUP)) as forwarder:
                forwarder.start(child.pid)
                code = child.wait()
        finally:
            signal.signal(signal.SIGINT, interrupt)
        return code if code >= 0 else 128 - code
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)
