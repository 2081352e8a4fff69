"""What a lab pod serves (Python stdlib only, run by path inside the pod's namespace): on each TCP port an
HTTP server whose body starts with the pod's name on its own line, then `client IP:PORT`; on each UDP
port the pod's name and the client, echoed back. The pidfile is written once every port listens.

usage: python3 podserver.py NAME PIDFILE [tcp:PORT | udp:PORT]...
"""

import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def http_server(name: str, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the stdlib's name)
            body = f"{name}\nclient {self.client_address[0]}:{self.client_address[1]}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):  # quiet: thousands of requests would fill the log
            pass

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    return ThreadingHTTPServer(("0.0.0.0", port), Handler)


def udp_echo(name: str, sock: socket.socket) -> None:
    while True:
        _data, peer = sock.recvfrom(2048)
        sock.sendto(f"{name}\nclient {peer[0]}:{peer[1]}\n".encode(), peer)


def main(argv) -> int:
    name, pidfile, specs = argv[0], argv[1], argv[2:]
    threads = []
    for spec in specs:
        proto, _, port = spec.partition(":")
        if proto == "tcp":
            server = http_server(name, int(port))
            threads.append(threading.Thread(target=server.serve_forever, daemon=True))
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("0.0.0.0", int(port)))
            threads.append(threading.Thread(target=udp_echo, args=(name, sock), daemon=True))
    for t in threads:
        t.start()
    tmp = pidfile + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:  # a lab record: 0600
        f.write(f"{os.getpid()}\n")
    os.rename(tmp, pidfile)  # written whole: a reader never sees half a pid
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
