"""A running lab's control socket: requests from other shells (`lab oc --name LAB ...`, `lab workshop solve`).

The process that runs a lab holds what only it has (OpenShift: the API server's model), so it serves
RUN_DIR/<lab>/control.sock (mode 0600) from a daemon thread. One request per connection, one JSON line
each way:

    {"verb": "oc", "line": "get pods -o wide"}   ->   {"ok": true, "output": "..."}
                                                  or  {"ok": false, "error": "...", "exit": 2}

A topology registers handlers (verb -> function(line) -> output text; a LabError is the refusal).
Mininet's node shells are not thread-safe, so every request runs under COMMANDS, the lock the lab's
CLI takes around each of its commands (lab.front.mncli); a request that waits longer than BUSY_S for it is
answered "the lab is busy". Each connection is read by its own thread within READ_DEADLINE_S (at most
MAX_REQUEST bytes), so a slow client holds no one else: while MAX_READERS connections are still sending,
a new one waits at most READER_WAIT_S for its turn to be read, then hears "busy" (past MAX_CONNECTIONS
connections at once: at once). Files a request names (`oc apply -f`) are read by the client and sent with it
(lab.sentfiles): the lab never opens a path another shell names. Signals stay with the main thread:
teardown stops the server without waiting for it longer than STOP_WAIT_S.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import traceback
from typing import Callable, Dict, Optional

from lab import paths, sentfiles
from lab.errors import BadInput, LabError

SOCKET = "control.sock"
BUSY_S = 20.0  # how long a request waits for the CLI's command to finish
IO_TIMEOUT_S = 5.0  # writing an answer
READ_DEADLINE_S = 5.0  # the whole request must arrive within this, however slowly its bytes trickle
MAX_READERS = 4  # connections whose request is still arriving, at once
READER_WAIT_S = 0.5  # a new connection waits this long for a reader's turn, then hears "busy"
MAX_CONNECTIONS = 64  # connections read, waiting or served at once; one more hears "busy" at once
ACCEPT_POLL_S = 0.5  # how soon the server notices it was stopped
STOP_WAIT_S = 2.0  # teardown lets a request under way finish for this long, then goes on
MAX_REQUEST = 1 << 20
REQUEST_TIMEOUT_S = 120.0  # the client's default: an `oc apply` creates pods

# The lab's node shells are used by one thread at a time: the CLI's commands and the requests.
# Re-entrant: a CLI `source` runs its lines as commands too.
COMMANDS = threading.RLock()

Handler = Callable[[str], str]

# the handlers of the labs this process serves: a verb asked from inside the lab's own process (its CLI,
# which holds COMMANDS) is answered directly, never over the socket (whose server would wait for COMMANDS)
SERVING: Dict[str, Dict[str, Handler]] = {}


def socket_path(name: str = "") -> str:
    return os.path.join(paths.run_dir(name), SOCKET)


def _answer_error(exc: BaseException) -> dict:
    code = exc.exit_code if isinstance(exc, LabError) else 1
    return {"ok": False, "error": " ".join(str(exc).split()) or type(exc).__name__, "exit": code}


class Server:
    """Serves one lab's requests from a daemon thread; stop() is safe to call from a signal's teardown."""

    def __init__(self, name: str, handlers: Dict[str, Handler], topology: str = "", log: Optional[str] = None):
        self.name, self.handlers, self.topology = name, dict(handlers), topology
        self.path = socket_path(name)
        self.log = log or os.path.join(paths.run_dir(name), "control-errors.log")
        self._stopped = threading.Event()
        self._sock: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None
        self._busy = threading.Lock()  # held while a request runs: teardown may wait for it, briefly
        self._connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._readers = threading.BoundedSemaphore(MAX_READERS)

    def start(self) -> "Server":
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o177)  # born 0600: no moment where another user could connect
        try:
            sock.bind(self.path)
        except OSError as exc:
            sock.close()
            raise LabError(f"cannot serve {self.path}: {exc.strerror or exc}") from None
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        sock.listen(8)
        sock.settimeout(ACCEPT_POLL_S)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, daemon=True, name=f"lab-control-{self.name}")
        self._thread.start()
        SERVING[self.name] = self.handlers
        return self

    def stop(self) -> None:
        """No more requests; a request under way gets STOP_WAIT_S to finish. Never blocks longer, and an idle
        server costs teardown nothing (teardown stays short: a signal's resend must not find it still running)."""
        self._stopped.set()
        SERVING.pop(self.name, None)
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() at once (Linux)
            except OSError:
                pass
        if self._busy.acquire(timeout=STOP_WAIT_S):
            self._busy.release()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    # -- the server thread

    def _serve(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
        sock = self._sock
        assert sock is not None  # start() sets it before it starts this thread
        try:
            while not self._stopped.is_set():
                try:
                    conn, _ = sock.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                if self._stopped.is_set():
                    conn.close()
                    return
                if not self._connections.acquire(blocking=False):
                    self._refuse_busy(conn, f"{MAX_CONNECTIONS} requests are under way")
                    continue
                try:
                    threading.Thread(target=self._connection, args=(conn,), daemon=True,
                                     name=f"lab-control-{self.name}-client").start()
                except BaseException:  # no thread (memory): this connection only is lost
                    self._connections.release()
                    conn.close()
        finally:
            sock.close()

    def _refuse_busy(self, conn: socket.socket, why: str) -> None:
        answer = {"ok": False, "exit": 1, "error": f"the lab is busy: {why}; try again"}
        try:
            conn.settimeout(IO_TIMEOUT_S)
            conn.sendall((json.dumps(answer) + "\n").encode())
        except OSError:
            pass
        finally:
            conn.close()

    def _connection(self, conn: socket.socket) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))
        try:
            with conn:
                if not self._readers.acquire(timeout=READER_WAIT_S):
                    self._refuse_busy(conn, f"{MAX_READERS} clients are still sending their requests")
                    return
                try:  # a reader's turn while the request arrives; its wait for the lab's commands holds none
                    request = _read_line(conn, READ_DEADLINE_S)
                except (OSError, ValueError) as exc:
                    request = None
                    answer = {"ok": False, "error": f"bad request: {exc}", "exit": 2}
                finally:
                    self._readers.release()
                if request is not None:
                    answer = self.handle(request)
                try:
                    conn.settimeout(IO_TIMEOUT_S)
                    conn.sendall((json.dumps(answer) + "\n").encode())
                except OSError:
                    pass  # the client gave up; the change (if any) is made and the lab's state says so
        except BaseException:  # noqa: BLE001 (nothing one client sends may end the server)
            self._log("connection", traceback.format_exc())
        finally:
            self._connections.release()

    def _log(self, what: str, text: str) -> str:
        """Appends a traceback to the lab's control log; where it went, for the answer."""
        try:
            with paths.open_private(self.log, "a") as f:
                f.write(f"--- {what}\n{text}\n")
            return f" (traceback in {self.log})"
        except OSError:
            return ""

    def handle(self, raw: bytes) -> dict:
        """One request line -> its answer (a dict); runs the handler under COMMANDS."""
        try:
            request = json.loads(raw.decode())
            verb, line = request["verb"], request.get("line", "")
            files = request.get("files", {})
            if not isinstance(verb, str) or not isinstance(line, str):
                raise ValueError("verb and line must be strings")
            sentfiles.check(files)
        except RecursionError:
            return {"ok": False, "error": "bad request: nested too deeply", "exit": 2}
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
            return {"ok": False, "error": f"bad request: {' '.join(str(exc).split())[:200]}", "exit": 2}
        handler = self.handlers.get(verb)
        if handler is None:
            kind = f" ({self.topology})" if self.topology else ""
            return {"ok": False, "exit": 2,
                    "error": f"lab {self.name!r}{kind} takes no `{verb}` requests"
                             + (f" (it takes: {', '.join(sorted(self.handlers))})" if self.handlers else "")}
        if not COMMANDS.acquire(timeout=BUSY_S):
            return {"ok": False, "exit": 1,
                    "error": f"the lab is busy: its CLI has been running a command for {BUSY_S:.0f} s; try again"}
        try:
            with self._busy:
                if self._stopped.is_set():
                    return {"ok": False, "exit": 1, "error": f"lab {self.name!r} is stopping"}
                with sentfiles.serving(files):
                    return {"ok": True, "output": handler(line) or ""}
        except LabError as exc:
            return _answer_error(exc)
        except Exception as exc:  # noqa: BLE001 (a bug in a handler must not end the lab)
            where = self._log(f"{verb} {line}", traceback.format_exc())
            return {"ok": False, "exit": 1, "error": f"{type(exc).__name__}: {exc}{where}"}
        finally:
            COMMANDS.release()


def _read_line(conn: socket.socket, deadline_s: float) -> bytes:
    """One line, all of it within deadline_s (socket.timeout otherwise) and at most MAX_REQUEST bytes."""
    data = b""
    end = time.monotonic() + deadline_s
    while b"\n" not in data:
        left = end - time.monotonic()
        if left <= 0:
            raise socket.timeout(f"no whole line within {deadline_s:.0f} s")
        conn.settimeout(left)
        try:
            chunk = conn.recv(65536)
        except socket.timeout:
            raise socket.timeout(f"no whole line within {deadline_s:.0f} s") from None
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError(f"longer than {MAX_REQUEST} bytes")
    if not data.strip():
        raise ValueError("empty")
    return data.split(b"\n", 1)[0]


# -- the client


def ask(name: str, verb: str, line: str = "") -> str:
    """A control verb of lab `name`: answered here when this process serves the lab (its CLI asks), else over
    the lab's socket. A refusal raises."""
    handlers = SERVING.get(name)
    if handlers is None:
        return request(name, verb, line)
    if verb not in handlers:
        raise LabError(f"lab {name!r} takes no `{verb}` requests")
    with COMMANDS:
        return handlers[verb](line)


def request(name: str, verb: str, line: str = "", timeout: float = REQUEST_TIMEOUT_S) -> str:
    """Send one request to the running lab `name`; its output, or its refusal raised as one line
    (BadInput for exit 2, LabError otherwise). The files its `-f` words name are read here and sent."""
    path = socket_path(name)
    line, files = sentfiles.collect(line)
    payload = (json.dumps({"verb": verb, "line": line, "files": files}) + "\n").encode()
    if len(payload) > MAX_REQUEST:
        raise BadInput(f"the request is {len(payload)} bytes: a lab takes at most {MAX_REQUEST} (fewer or smaller files)")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            raise _not_serving(name) from None
        except PermissionError:
            raise BadInput(f"lab {name!r}: permission denied on {path} (run as root: sudo)") from None
        try:
            sock.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a busy lab answers before it reads: its answer is there to read
        raw = _read_line(sock, timeout)
    except socket.timeout:
        raise LabError(f"lab {name!r} did not answer within {timeout:.0f} s") from None
    except (OSError, ValueError) as exc:
        raise LabError(f"lab {name!r}: no answer on {path} ({exc})") from None
    finally:
        sock.close()
    try:
        answer = json.loads(raw.decode())
    except ValueError:
        raise LabError(f"lab {name!r} answered something that is not JSON: {raw[:80]!r}") from None
    if answer.get("ok"):
        return answer.get("output", "")
    error = answer.get("error") or "refused (no reason given)"
    raise (BadInput if answer.get("exit", 1) == 2 else LabError)(error)


def _not_serving(name: str) -> LabError:
    from lab import registry
    if registry.owner(name) is None:
        return BadInput(f"lab {name!r} is not running (`lab ps` lists the labs)")
    return BadInput(f"lab {name!r} runs but takes no requests from other shells (no {socket_path(name)})")
