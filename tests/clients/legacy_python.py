"""A Python 2.7 runtime with the Open311 client library `three` installed, unmodified, for tests.

`three` 0.8.0 (Code for America, PyPI) is the one published Open311 client that lists services,
posts a request and reads it back in both JSON and XML, and it is Python 2 code. Debian bookworm
has no Python 2, so the interpreter comes from Debian bullseye's packages (checked against the
SHA-256 sums below) and is unpacked, not installed, under `.venv/py27`; `three` and the exact
releases of its dependencies come from PyPI through a Python-2-capable pip. Nothing is installed
system-wide. `provision()` is idempotent and returns a `LegacyPython`, or raises `Unavailable` with
the reason (no dpkg-deb, no network to the mirror, a checksum that does not match). `make test` runs
the suite on several databases at once, so provisioning holds a lock file: one run builds, the others
wait for it and then find it ready.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOME = ROOT / ".venv" / "py27"
MIRROR = os.environ.get("GRIDDESK_DEBIAN_MIRROR", "http://deb.debian.org/debian")

DEBS = {
    "pool/main/p/python2.7/python2.7-minimal_2.7.18-8+deb11u1_amd64.deb":
        "44f0cdc1a343303d31c55fcb3a6402cfe326adf749ec30e375e6e0c0c5f7c1f7",
    "pool/main/p/python2.7/libpython2.7-minimal_2.7.18-8+deb11u1_amd64.deb":
        "85833c92314011b89bbead6f9a5a7a360b5ee4f9b95e001225afead4ebf9f7d3",
    "pool/main/p/python2.7/libpython2.7-stdlib_2.7.18-8+deb11u1_amd64.deb":
        "3e627d6d8992b853e000b8a4c09dda613fb767cdb711a2eac20ebc9f867b593c",
    "pool/main/o/openssl/libssl1.1_1.1.1w-0+deb11u1_amd64.deb":
        "aadf8b4b197335645b230c2839b4517aa444fd2e8f434e5438c48a18857988f7",
    "pool/main/libf/libffi/libffi7_3.3-6_amd64.deb":
        "30ca89bfddae5fa6e0a2a044f22b6e50cd17c4bc6bc850c579819aeab7101f0f",
}
# Wheels, by file name: the pip that still runs on Python 2.7, and what it builds sdists with.
BOOTSTRAP = {
    "pip-20.3.4-py2.py3-none-any.whl":
        "217ae5161a0e08c0fb873858806e3478c9775caffce5168b50ec885e358c199d",
    "setuptools-44.1.1-py2.py3-none-any.whl":
        "27a714c09253134e60a6fa68130f78c7037e5562c4f21f8f318f2ae900d152d5",
    "wheel-0.37.1-py2.py3-none-any.whl":
        "4bdcd7d840138086126cd09254dc6195fb4fc6f01c050a1d7236f2630db1d22a",
}
# `three` and exactly what it needs on Python 2.7 (its install_requires, resolved once), with the
# SHA-256 of the file pip picks for Python 2.7 on x86_64; pip refuses anything else.
CLIENT = {
    "three==0.8.0": "a398a453bec04014cbc68c05b79fd535663b158ca06e13fc0deb98b629dbc84c",
    "relaxml==0.1.3": "72c8f3809c9b6a3b1b5a772b42fd2f5bb7ed90a734491c4ffec0d0d15e9e9832",
    "requests==2.27.1": "f22fa1e554c9ddfd16e6e41ac79759e17be9e492b3587efa038054674760e72d",
    "urllib3==1.26.20": "0ed14ccfbf1c30a9072c7ca157e4319b70d65f623e91e7b32fadb2853431016e",
    "chardet==4.0.0": "f864054d66fd9118f2e67044ac8981a54775ec5b67aed0441892edb553d21da5",
    "idna==2.10": "b97d804b1e9b523befed77c48dacec60e6dcb0b5391d57af6a65a312a90648c0",
    "certifi==2021.10.8": "d62a0163eb4c2344ac042ab2bdf75399a71a2d8c7d47eac2e2ee91b9d6339569",
    "simplejson==4.3.0": "760818802f44a5754df77e20bbc6551969a1c5df769376792b55f325a315b5e2",
    "mock==3.0.5": "d157e52d4e5b938c550f39eb2fd15610db062441a9c2747d3dbfa9298211d0f8",
    "six==1.17.0": "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
    "funcsigs==1.0.2": "330cc27ccbf7f1e992e69fef78261dc7c6569012cf397db8d3de0234e6c937ca",
}


class Unavailable(Exception):
    """The Python 2.7 runtime or the client library could not be provided on this machine."""


@dataclass(frozen=True)
class LegacyPython:
    home: Path

    @property
    def executable(self) -> Path:
        return self.home / "root" / "usr" / "bin" / "python2.7"

    def env(self, extra_path: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONHOME"] = str(self.home / "root" / "usr")
        env["LD_LIBRARY_PATH"] = str(self.home / "root" / "usr" / "lib" / "x86_64-linux-gnu")
        paths = [self.home / "site"] + ([extra_path] if extra_path else [])
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
        env["PYTHONIOENCODING"] = "utf-8"
        return env

    def run(self, script: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.executable), str(script), *args], env=self.env(),
                              capture_output=True, text=True, timeout=timeout)


def provision(home: Path = DEFAULT_HOME) -> LegacyPython:
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / (home.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _provision_locked(home)


def _provision_locked(home: Path) -> LegacyPython:
    legacy = LegacyPython(home)
    stamp = home / ("ready-" + hashlib.sha256(repr((DEBS, BOOTSTRAP, CLIENT)).encode())
                    .hexdigest()[:12])
    if stamp.exists():
        return legacy
    if os.uname().machine != "x86_64":
        raise Unavailable(f"the pinned Debian packages are amd64; this machine is "
                          f"{os.uname().machine}")
    if not shutil.which("dpkg-deb"):
        raise Unavailable("dpkg-deb is not installed (a Debian tool) to unpack Python 2.7")
    shutil.rmtree(home, ignore_errors=True)
    (home / "debs").mkdir(parents=True)
    for path, sha256 in DEBS.items():
        target = home / "debs" / path.rsplit("/", 1)[1]
        _download(f"{MIRROR}/{path}", target, sha256)
        _run(["dpkg-deb", "-x", str(target), str(home / "root")], "unpacking " + target.name)
    wheels = home / "wheels"
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(wheels),
          *(name.split("-")[0] + "==" + name.split("-")[1] for name in BOOTSTRAP)],
         "downloading pip for Python 2.7")
    for name, sha256 in BOOTSTRAP.items():
        if hashlib.sha256((wheels / name).read_bytes()).hexdigest() != sha256:
            raise Unavailable(f"{name} does not match its pinned SHA-256")
    pip = [str(legacy.executable), str(wheels / "pip-20.3.4-py2.py3-none-any.whl" / "pip"),
           "install", "--quiet", "--no-cache-dir", "--no-deps", "--disable-pip-version-check"]
    env = legacy.env() | {"PIP_CONFIG_FILE": os.devnull}
    env.pop("PIP_FIND_LINKS", None)
    _run(pip + ["--target", str(home / "boot"), *(str(wheels / name) for name in BOOTSTRAP)],
         "installing setuptools for Python 2.7", env)
    requirements = home / "client-requirements.txt"
    requirements.write_text("".join(f"{pin} --hash=sha256:{sha256}\n"
                                    for pin, sha256 in CLIENT.items()))
    _run(pip + ["--target", str(home / "site"), "--require-hashes", "-r", str(requirements)],
         "installing three from PyPI", env | {"PYTHONPATH": str(home / "boot")})
    check = subprocess.run([str(legacy.executable), "-c", "import three, sys; print(sys.version)"],
                           env=legacy.env(), capture_output=True, text=True)
    if check.returncode != 0 or not check.stdout.startswith("2.7."):
        raise Unavailable("Python 2.7 was unpacked but cannot import three: " + check.stderr[-400:])
    stamp.touch()
    return legacy


def _download(url: str, target: Path, sha256: str) -> None:
    opener = urllib.request.build_opener()
    try:
        with opener.open(url, timeout=60) as response:
            body = response.read()
    except OSError as exc:
        raise Unavailable(f"cannot download {url}: {exc}") from exc
    if hashlib.sha256(body).hexdigest() != sha256:
        raise Unavailable(f"{url} does not match its pinned SHA-256")
    target.write_bytes(body)


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise Unavailable(f"{what} failed: {(done.stderr or done.stdout)[-600:]}")


if __name__ == "__main__":
    print(provision().executable)
