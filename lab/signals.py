"""SIGINT, SIGTERM and SIGHUP as the lab's orderly exits. Importing this module installs nothing: the `lab`
command calls SIGS.install() first thing, a bring-up calls SIGS.arm(name) once a lab is about to exist."""

from __future__ import annotations

import os
import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator


class Interrupted(BaseException):
    """A signal asked the lab to stop: tear down, then exit 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


def _main_thread_id() -> int:
    ident = threading.main_thread().ident
    assert ident is not None  # only a thread not yet started has none, and the main thread runs this program
    return ident


class Signals:
    """SIGINT/SIGTERM/SIGHUP. Until `lab run` starts to claim its lab nothing exists, so the process leaves
    at once. From then on the first signal raises Interrupted wherever the main thread is, so the lab is torn down by
    the `finally` that owns it; a second one during teardown cuts it short (the next `lab run` or
    `lab clean` removes the rest).

    An exception raised by a signal handler is lost when the handler happens to run inside a `__del__`
    the garbage collector called ("Exception ignored in ..."): seen in CI, the lab then slept on. So a
    watcher thread sends the signal again to the main thread until the main thread has taken it."""

    RETRY_S = 0.5
    NUDGE_S = (0.1, 0.4)  # after a signal: when the main thread gets its wake-up signals
    NUDGE = signal.SIGUSR2  # its handler does nothing: it only interrupts what the main thread blocks in

    def __init__(self):
        self.name = ""
        self.started = self.seen = self.tearing_down = False
        self._watching = False
        self._wakeup = None
        self.installed = False
        self._deferring = 0  # inside critical(): a signal is held until the step is whole
        self._pending = 0
        self._lock = threading.Lock()  # taken()/teardown() against a re-send in flight
        self._resent = 0  # re-sends whose handler has not run yet

    def install(self) -> None:
        """From here on SIGINT/SIGTERM/SIGHUP are the lab's; the `lab` command calls it first thing."""
        for s in SIGNALS:
            signal.signal(s, self._handle)
        self.installed = True

    def arm(self, name: str) -> None:
        """A lab is about to be claimed: a signal now tears it down (main thread only)."""
        if not self.installed:
            self.install()
        self.watch_wakeups()
        self.name, self.seen, self.tearing_down, self.started = name, False, False, True

    def taken(self) -> None:
        """The main thread has caught the Interrupted: no more re-sends."""
        with self._lock:
            self.seen = True

    def teardown(self) -> None:
        """Teardown begins: a second signal cuts it short (a re-send still in flight does not)."""
        with self._lock:
            self.seen = self.tearing_down = True

    def watch_wakeups(self) -> None:
        """A signal can set Python's "handler pending" flag without interrupting the main thread: when it
        arrives just before the main thread blocks in a C call (readline's select() right after it printed
        the prompt: seen in CI, SIGTERM then waited for the next keystroke), or when the kernel hands it to
        another thread. Python writes each signal's number to the wakeup fd; a watcher thread reads it and
        then sends the main thread SIGUSR2, whose handler does nothing: the blocking call returns EINTR and
        Python runs the pending handlers. The nudge never runs a handler of ours a second time (a second
        SIGTERM would cut the teardown short), so it needs no guess whether the first one ran. Called from
        the main thread (set_wakeup_fd requires it)."""
        if self._wakeup is not None:
            return
        signal.signal(self.NUDGE, lambda _s, _f: None)
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        self._wakeup = (r, w)
        threading.Thread(target=self._watch_wakeups, args=(r,), daemon=True, name="lab-signal-wakeups").start()

    def unwatch_wakeups(self) -> None:
        if self._wakeup is not None:
            signal.set_wakeup_fd(-1)
            os.close(self._wakeup[1])
            self._wakeup = None

    def _watch_wakeups(self, r: int) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)  # the kernel then prefers the main thread
        while True:
            try:
                data = os.read(r, 256)
            except OSError:
                data = b""
            if not data:  # the write end was closed (unwatch_wakeups)
                os.close(r)
                return
            if not any(s in SIGNALS for s in data):  # our own nudges' bytes, or another handler's
                continue
            for delay in self.NUDGE_S:
                time.sleep(delay)
                signal.pthread_kill(_main_thread_id(), self.NUDGE)

    def _handle(self, signum, _frame):
        if not self.started:  # no lab exists yet: leaving at once is the orderly exit
            os._exit(128 + signum)
        if self._resent and self.seen:  # our own re-send, sent just before the main thread took the first one
            self._resent -= 1
            return
        if self.tearing_down:
            os.write(2, f"\nlab: teardown cut short by {signal.Signals(signum).name}; "
                        f"`lab clean {self.name or '<name>'}` removes the rest\n".encode())
            os._exit(128 + signum)
        if not self._watching:
            self._watching = True
            threading.Thread(target=self._resend, args=(signum,), daemon=True).start()
        if self._deferring:
            self._pending = self._pending or signum
            return
        self._resent = 0  # this Interrupted answers them all
        raise Interrupted(signum)

    @contextmanager
    def critical(self) -> Iterator[None]:
        """A step a signal must not cut in half (a namespace's bind under /var/run/netns: cut between the
        `touch` and the `mount`, an empty file outlived the lab). A signal that arrives meanwhile raises
        Interrupted when the step has ended, whole."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
            if not self._deferring and self._pending and not self.tearing_down:
                signum, self._pending = self._pending, 0
                raise Interrupted(signum)  # noqa: B012 (the held signal wins over what the step raised)

    def _resend(self, signum: int) -> None:
        while True:
            time.sleep(self.RETRY_S)
            with self._lock:  # never sent after taken(): a re-send landing in teardown would cut it short
                if self.seen or self.tearing_down:
                    return
                self._resent += 1
                signal.pthread_kill(_main_thread_id(), signum)

    def interactive(self, on: bool) -> None:
        """At the interactive prompt Ctrl-C interrupts the running command, as in Mininet."""
        signal.signal(signal.SIGINT, signal.default_int_handler if on else self._handle)


SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
SIGS = Signals()  # the process's one instance; installs no handler until install()/arm()
