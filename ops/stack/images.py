"""Images of the stack without Docker Hub: Debian bookworm stand-ins, then our own image.

The bookworm root filesystem is bootstrapped with mmdebstrap on the host and imported; its tag
carries a hash of the recipe, so it is bootstrapped once per machine and recipe. Every other
image is a Dockerfile build whose layers Docker caches. Our image is built FROM the local
python image, with the CPU torch wheel of pip's find-links folder served on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import logging
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ops.stack.commands import StackError, docker, run

__all__ = [
    "LOCAL",
    "TARGETS",
    "BOOKWORM_SOURCES",
    "bookworm_image",
    "build_local_images",
    "build_app_image",
    "image_size",
    "pip_setting",
    "torch_wheel",
]

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
IMAGES_DIR = REPO / "ops" / "images"
LOCAL = "recsys-local"
# Target of ops/images/Dockerfile -> tag (docker-compose.ci.yml names the service images).
TARGETS = {
    "python": f"{LOCAL}/python:3.11-bookworm",
    "postgres": f"{LOCAL}/postgres:15-bookworm",
    "prometheus": f"{LOCAL}/prometheus:bookworm",
    "pushgateway": f"{LOCAL}/pushgateway:bookworm",
    "alertmanager": f"{LOCAL}/alertmanager:bookworm",
}
BOOKWORM_SOURCES = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# minbase without documentation, manuals and translations, apt retrying downloads (these
# settings stay in the image, so the apt-get installs built on it follow them too).
MMDEBSTRAP_OPTIONS = (
    "--variant=minbase",
    "--aptopt=Acquire::Languages \"none\"",
    "--aptopt=Acquire::Retries \"3\"",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
)
# The wheel's URL is a build argument, so part of the install layer's cache key: a fixed port.
WHEEL_PORT = 18417  # below the ephemeral range
BOOTSTRAP_TIMEOUT_S = 900
BUILD_TIMEOUT_S = 600
APP_BUILD_TIMEOUT_S = 1800


def _exists(tag: str) -> bool:
    return docker("image", "inspect", tag, timeout=30, check=False).returncode == 0


def image_size(tag: str) -> int:
    """Size of a local image in bytes."""
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def bookworm_image() -> tuple[str, float | None]:
    """The imported bookworm rootfs: its tag and the bootstrap seconds (None: it was cached)."""
    recipe = json.dumps([MMDEBSTRAP_OPTIONS, BOOKWORM_SOURCES]).encode()
    tag = f"{LOCAL}/bookworm:{hashlib.sha256(recipe).hexdigest()[:12]}"
    if _exists(tag):
        log.info("bookworm rootfs %s: cached", tag)
        return tag, None
    if shutil.which("mmdebstrap") is None:
        raise StackError("mmdebstrap missing: apt-get install mmdebstrap (.ci/run does)")
    log.info("bootstrapping bookworm with mmdebstrap into %s (1-3 min)", tag)
    start = time.perf_counter()
    bootstrap = subprocess.Popen(["mmdebstrap", "--quiet", *MMDEBSTRAP_OPTIONS, "bookworm", "-",
                                  *BOOKWORM_SOURCES], stdout=subprocess.PIPE)
    try:
        docker("import", "--change", 'CMD ["bash"]', "-", tag, timeout=BOOTSTRAP_TIMEOUT_S,
               stdin=bootstrap.stdout)
        code = bootstrap.wait(timeout=60)
    finally:
        if bootstrap.poll() is None:
            bootstrap.kill()
    if code != 0:
        docker("image", "rm", tag, check=False)
        raise StackError(f"mmdebstrap exited {code} (apt-get install mmdebstrap; "
                         "deb.debian.org must be reachable)")
    return tag, time.perf_counter() - start


def build_local_images(bookworm: str) -> dict[str, float]:
    """Build every target of ops/images/Dockerfile on ``bookworm``; seconds per target."""
    seconds = {}
    for target, tag in TARGETS.items():
        start = time.perf_counter()
        docker("build", "--network", "host", "--target", target, "--build-arg",
               f"BOOKWORM={bookworm}", "--tag", tag, str(IMAGES_DIR), timeout=BUILD_TIMEOUT_S)
        seconds[target] = time.perf_counter() - start
        log.info("local image %s built in %.1f s", tag, seconds[target])
    return seconds


def pip_setting(name: str, listing: str | None = None) -> list[str]:
    """Values of a pip setting (``cert``, ``find-links``) as ``pip config list`` shows them.

    The environment's value comes first, then the global, user and site files'. ``listing``:
    that command's output (default: run it).
    """
    if listing is None:
        listing = run([sys.executable, "-m", "pip", "config", "list"], timeout=60).stdout
    found = dict(re.findall(r"^(\S+?)='?(.*?)'?$", listing, flags=re.MULTILINE))
    scopes = (":env:", "global", "user", "site")
    values = [found[f"{scope}.{name}"] for scope in scopes if f"{scope}.{name}" in found]
    return [item for value in values for item in value.split()]


def _torch_version() -> str:
    pins = re.findall(r"^torch==(\S+)", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    if len(pins) != 1:
        raise StackError("requirements.txt must pin torch exactly once (torch==X.Y.Z)")
    return pins[0]


def torch_wheel() -> Path | None:
    """The CPU torch wheel of requirements.txt's pin in pip's find-links folders, if any."""
    pattern = f"torch-{_torch_version()}+cpu-cp311-*.whl"
    for folder in pip_setting("find-links"):
        wheels = sorted(Path(folder.removeprefix("file://")).glob(pattern))
        if wheels:
            return wheels[0]
    return None


def _server(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> http.server.HTTPServer:
    """A server on WHEEL_PORT, else on any free port (then the install layer is rebuilt)."""
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", WHEEL_PORT), handler)
    except OSError as error:
        log.warning("port %d taken (%s): the torch layer misses Docker's cache", WHEEL_PORT, error)
        return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` read-only on 127.0.0.1 (a find-links page for the build's pip)."""
    server = _server(functools.partial(_QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return


def _build_args(base: str, find_links: str | None) -> list[str]:
    args = {"BASE_IMAGE": base}
    if find_links:
        args |= {"TORCH_INDEX_URL": "https://pypi.org/simple", "TORCH_FIND_LINKS": find_links}
    return [item for key, value in args.items() for item in ("--build-arg", f"{key}={value}")]


def _secret_args() -> list[str]:
    certs = [cert for cert in pip_setting("cert") if Path(cert).is_file()]
    return ["--secret", f"id=pip_cert,src={certs[0]}"] if certs else []


def build_app_image(tag: str, base: str, cached: bool, target: str = "app") -> float:
    """Build our Dockerfile's ``target`` (the app; ``spark``: the Spark engine's image) on
    ``base``; the seconds. ``cached=False``: cold."""
    wheel = torch_wheel()
    if wheel is None:
        log.warning("no CPU torch wheel in pip's find-links: the build uses PyTorch's CPU index")
    log.info("building %s on %s (%s)", tag, base,
             "with Docker's cache" if cached else "cold, --no-cache: a few minutes")
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        find_links = stack.enter_context(_serve(wheel.parent)) if wheel else None
        docker("build", "--network", "host", "--progress", "plain", "--target", target,
               *([] if cached else ["--no-cache"]), *_build_args(base, find_links),
               *_secret_args(), "--tag", tag, str(REPO), timeout=APP_BUILD_TIMEOUT_S)
    seconds = time.perf_counter() - start
    log.info("%s built in %.1f s (%s)", tag, seconds, "cached" if cached else "cold")
    return seconds
