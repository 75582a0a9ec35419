"""The web processes' gunicorn settings: connections spread over workers, and a taken port is refused."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"


def test_a_port_someone_listens_on_is_refused_not_shared() -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as another gunicorn with reuse_port would
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        started = subprocess.run(
            [
                str(GUNICORN),
                "-c",
                "python:infra.gunicorn_config",
                "--bind",
                f"127.0.0.1:{port}",
                "nmd_pages.app:create_app()",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert started.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in started.stderr
