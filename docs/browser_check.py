"""Loads every page of a built site in headless Chromium (Debian's `chromium`) and reports what a reader would
hit: a page that renders no content, a console error or uncaught exception, an internal link to a page or
anchor that is not there, an image that does not load (naturalWidth 0).

The browser is driven over the DevTools protocol on --remote-debugging-pipe (fd 3: our commands, fd 4: its
answers, JSON messages ending in NUL); the site is served by http.server bound to 127.0.0.1 on a free port.
Every read has a deadline. `python docs/browser_check.py SITE_DIR` prints one line per problem, exit 0/1.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from typing import Dict, List, Optional, Set, Tuple

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
PAGE_TIMEOUT = 30.0  # a page that takes longer to load is a problem of its own

PAGE_STATE_JS = """(() => {
  const main = document.querySelector('article') || document.querySelector('main') || document.body;
  return JSON.stringify({
    text: main ? main.innerText.trim().length : 0,
    title: document.title,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                                             width: i.naturalWidth})),
  });
})()"""


def chromium() -> Optional[str]:
    return next((p for p in map(shutil.which, CHROMIUM) if p), None)


class Browser:
    """One headless Chromium and one page in it, spoken to over the DevTools pipe."""

    def __init__(self, binary: str):
        self.profile = tempfile.mkdtemp(prefix="sdnlab-docs-chromium-")
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # fds 3 and 4 in the child: moved out of the way first so the dup2s cannot clobber one another
        high = [os.dup(fd) for fd in (to_browser_r, from_browser_w)]
        hi_r, hi_w = [fcntl_dup_high(fd) for fd in high]
        for fd in (*high, to_browser_r, from_browser_w):
            os.close(fd)

        def child_fds():
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--disable-background-networking", "--disable-sync", "--mute-audio",
             f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=child_fds, pass_fds=(3, 4, hi_r, hi_w))
        os.close(hi_r)
        os.close(hi_w)
        self.out, self.inp = to_browser_w, from_browser_r
        self.buffer = b""
        self.next_id = 0
        self.events: List[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def send(self, method: str, params: Optional[dict] = None, session: bool = False) -> int:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.out, data):]
        return self.next_id

    def receive(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.inp], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.inp, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed its DevTools pipe (exit {self.proc.poll()})")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: Optional[dict] = None, session: bool = False, timeout: float = 20.0) -> dict:
        wanted = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_event(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["method"] == method:
                    del self.events[i]
                    return True
            try:
                message = self.receive(deadline)
            except TimeoutError:
                return False
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        return result["result"].get("value")

    def open(self, url: str) -> Tuple[dict, List[str]]:
        """Loads url; returns (the page's state, the console errors and exceptions seen while it loaded)."""
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        if not self.wait_event("Page.loadEventFired", PAGE_TIMEOUT):
            return {}, [f"no load event within {PAGE_TIMEOUT:.0f} s"]
        deadline = time.monotonic() + 10
        state = json.loads(self.evaluate(PAGE_STATE_JS))
        while not all(i["complete"] for i in state["images"]) and time.monotonic() < deadline:
            time.sleep(0.05)  # images still decoding after the load event: polled until a deadline
            state = json.loads(self.evaluate(PAGE_STATE_JS))
        self.call("Runtime.evaluate", {"expression": "0"}, session=True)  # flushes pending console events
        return state, console_errors(self.events)

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            os.close(self.out)
            os.close(self.inp)
            shutil.rmtree(self.profile, ignore_errors=True)


def fcntl_dup_high(fd: int) -> int:
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD, 10)


def console_errors(events: List[dict]) -> List[str]:
    out = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
    return out


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: Set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.lru_cache(maxsize=None)
def ids_of(path: str) -> frozenset:
    parser = _Ids()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    return frozenset(parser.ids)


def built_file(site: str, url_path: str) -> Optional[str]:
    """The file http.server serves for a path of the site, or None."""
    rel = urllib.parse.unquote(url_path).lstrip("/")
    path = os.path.join(site, rel)
    if os.path.isdir(path):
        path = os.path.join(path, "index.html")
    return path if os.path.isfile(path) else None


def pages_of(site: str) -> List[str]:
    """URL paths of every built HTML page."""
    out = []
    for root, _dirs, files in os.walk(site):
        for name in files:
            if name.endswith(".html"):
                rel = os.path.relpath(os.path.join(root, name), site).replace(os.sep, "/")
                out.append("/" + (rel[: -len("index.html")] if rel.endswith("index.html") else rel))
    return sorted(out)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(site: str) -> http.server.ThreadingHTTPServer:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def check_site(site: str, binary: Optional[str] = None) -> Tuple[List[str], Dict[str, dict]]:
    """(problems, {page path: what the browser saw}) for every page of the built site."""
    binary = binary or chromium()
    if binary is None:
        raise RuntimeError("no Chromium: apt-get install chromium")
    server = serve(site)
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    problems: List[str] = []
    seen: Dict[str, dict] = {}
    browser = Browser(binary)
    try:
        for page in pages_of(site):
            state, errors = browser.open(origin + page)
            seen[page] = state
            problems += [f"{page}: {e}" for e in errors]
            if not state:
                continue
            if state["text"] < 20 and not page.endswith("404.html"):
                problems.append(f"{page}: no content in the page's main part ({state['text']} characters)")
            for img in state["images"]:
                if not img["width"]:
                    problems.append(f"{page}: image {img['src']} did not load (naturalWidth 0)")
            for href in state["links"]:
                problems += link_problems(site, origin, page, href)
    finally:
        browser.close()
        server.shutdown()
        server.server_close()
    return problems, seen


def link_problems(site: str, origin: str, page: str, href: str) -> List[str]:
    url = urllib.parse.urlsplit(href)
    if f"{url.scheme}://{url.netloc}" != origin:
        return []  # external links are not followed (CI has no network)
    target = built_file(site, url.path)
    if target is None:
        return [f"{page}: link {href} leads to no built page"]
    if url.fragment and target.endswith(".html") and urllib.parse.unquote(url.fragment) not in ids_of(target):
        return [f"{page}: link {href}: no anchor #{url.fragment} in {os.path.relpath(target, site)}"]
    return []


if __name__ == "__main__":
    start = time.monotonic()
    found, pages = check_site(sys.argv[1])
    for line in found:
        print(line)
    print(f"{len(pages)} pages checked in {time.monotonic() - start:.1f} s: {len(found)} problems")
    sys.exit(1 if found else 0)
