"""GridDesk as real processes (`python run.py …`, Gunicorn) against the test database."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .conftest import database_url

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_py(tmp_path, *args, command: tuple[str, ...] = ("run.py",), **environ) -> subprocess.Popen:
    """`python run.py ARGS` against the test database, its output (logs included) on stdout;
    ``command=("-m", "gunicorn")`` runs another module the same way."""
    env = dict(os.environ, DATABASE_URL=database_url(), SECRET_KEY="s" * 32, GRIDDESK_ENV="test",
               GRIDDESK_INSTANCE=str(tmp_path), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.update(environ)
    return subprocess.Popen([sys.executable, *command, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)


def wait_for_http(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        assert process.poll() is None, process.stdout.read()[-3000:]
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def lines_within(process, seconds: float, until: str | None = None) -> list[str]:
    """What the process printed in the next few seconds (it keeps running), or up to the moment
    it printed ``until``. Read from the pipe's file descriptor: a buffered readline would keep
    lines the selector no longer sees."""
    import selectors

    chunks, deadline = [], time.time() + seconds
    descriptor = process.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(descriptor, selectors.EVENT_READ)
        while time.time() < deadline:
            if selector.select(timeout=max(0.0, deadline - time.time())):
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if until is not None and until.encode() in b"".join(chunks):
                    break
    return b"".join(chunks).decode("utf-8", "replace").splitlines(keepends=True)


def stop(process) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)
