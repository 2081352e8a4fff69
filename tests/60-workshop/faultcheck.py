"""What the fault tests observe: a UDP request answered by the right pod, through the lab's probe."""

import sys

from lab.observe.probe import read_line


def udp_answer(lab, src: str, dst: str, port: int = 5000) -> str:
    """Ask dst's UDP echo from src; the answer, or `no answer: ...` (a 3 s deadline on the ask)."""
    server = lab.host(dst).popen([sys.executable, "-m", "lab.observe.probe", "serve", "udp", str(port), "1"])
    try:
        assert read_line(server.stdout, timeout=5).strip() == b"ready"
        return lab.cmd(src, f"{sys.executable} -m lab.observe.probe ask udp {lab.ip_of(dst)} {port} hello").strip()
    finally:
        server.kill()
        server.wait()
