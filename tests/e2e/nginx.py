"""Debian's nginx on loopback with the production routes (infra/nginx/routes.conf), for the tests."""

from __future__ import annotations

import contextlib
import getpass
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infra" / "nginx" / "loopback.conf.in"
ROUTES = REPO / "infra" / "nginx" / "routes.conf"
SYSTEM_PACKAGES = REPO / "infra" / "system-packages.sh"
PLACEHOLDER = re.compile(r"@[A-Z_]+@")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if found is None:
        subprocess.run([str(SYSTEM_PACKAGES)], check=True, timeout=600)  # installs nginx-light when missing
        found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found


def render(run_dir: Path, port: int, upstreams: Mapping[str, str]) -> Path:
    text = TEMPLATE.read_text("utf-8")
    values = {"RUN_DIR": str(run_dir), "ROUTES": str(ROUTES), "PORT": str(port), "USER": getpass.getuser()}
    values |= {service.upper(): address for service, address in upstreams.items()}
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = [line for line in text.splitlines() if not line.lstrip().startswith("#") and PLACEHOLDER.search(line)]
    assert not left, f"placeholders left in the nginx config: {left}"
    config = run_dir / "nginx.conf"
    config.write_text(text, "utf-8")
    return config


@contextlib.contextmanager
def running_nginx(run_dir: Path, upstreams: Mapping[str, str]) -> Iterator[str]:
    """nginx on a free loopback port in front of `upstreams` ({"pages": "127.0.0.1:8101", ...}); yields its URL."""
    run_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = render(run_dir, port, upstreams)
    binary = nginx_binary()
    subprocess.run([binary, "-t", "-q", "-c", str(config)], check=True, capture_output=True, timeout=30)
    server = subprocess.Popen([binary, "-c", str(config), "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for(lambda: _answers(port) or server.poll() is not None, timeout=20, message="nginx did not start")
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else "nginx exited"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
