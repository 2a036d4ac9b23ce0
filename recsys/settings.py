"""Typed settings read from ``RECSYS_*`` environment variables, with laptop defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from recsys.errors import ConfigError

__all__ = ["Settings", "get_settings"]


@dataclass(frozen=True)
class Settings:
    """Every knob of the product in one place; no secrets have defaults.

    Slack alerts are not a setting of the library: Alertmanager sends them, with the webhook
    from the ``SLACK_WEBHOOK_URL`` secret (``ops/README.md``).
    """

    data_dir: Path = Path("data")
    data_mirror: Path | None = None
    mlflow_tracking_uri: str = ""
    pushgateway_url: str = ""
    event_db_url: str = ""
    embedding_model: str = ""
    public_demo: bool = False
    demo_models: str = ""  # comma-separated DEFAULT_MODELS the app serves; empty: all of them
    metrics_port: int = 8000
    lenskit_python: Path | None = None  # the LensKit peers' own venv; .venv-lenskit by default
    spark_master: str = "local[2]"  # the Spark engine's master: local[N], spark://host:7077, yarn
    spark_scratch: str = ""  # where Spark and recsys exchange Parquet; data_dir/spark by default
    spark_driver_memory: str = "2g"  # local[N] only: the driver JVM's heap (its executor too)

    @property
    def spark_exchange(self) -> str:
        """The Parquet exchange folder of the Spark engine (on a cluster: shared by every node)."""
        return self.spark_scratch or str((self.data_dir / "spark").resolve())

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI; a local SQLite file under the data dir by default."""
        return self.mlflow_tracking_uri or f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"

    @property
    def events_url(self) -> str:
        """SQLAlchemy URL of the A/B event store; a SQLite file by default."""
        return self.event_db_url or f"sqlite:///{(self.data_dir / 'events.db').resolve()}"


_ENV_NAMES = {f.name: "RECSYS_" + f.name.upper() for f in fields(Settings)}


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _convert(name: str, raw: str) -> object:
    """The typed value of ``RECSYS_<NAME>``; a ConfigError naming the variable when ``raw``
    cannot be one (a typo in a flag must not quietly turn it off)."""
    variable = _ENV_NAMES[name]
    if name == "data_dir":
        if not raw.strip():
            raise ConfigError(f"{variable} is empty: expected a folder (default: data)")
        return Path(raw)
    if name in ("data_mirror", "lenskit_python"):
        return Path(raw) if raw else None
    if name == "metrics_port":
        if not raw.strip().isdigit() or int(raw) > 65535:
            raise ConfigError(f"{variable}={raw!r}: expected a TCP port, 0 to 65535 (0: any "
                              "free port)")
        return int(raw)
    if name == "public_demo":
        flag = raw.strip().lower()
        if flag not in _TRUE + _FALSE:
            raise ConfigError(f"{variable}={raw!r}: expected one of {', '.join(_TRUE)} "
                              f"(on) or {', '.join(v for v in _FALSE if v)} (off)")
        return flag in _TRUE
    return raw


def get_settings(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from the environment (``RECSYS_DATA_DIR``, ``RECSYS_DATA_MIRROR``, ...)."""
    env = os.environ if environ is None else environ
    values = {name: _convert(name, env[var]) for name, var in _ENV_NAMES.items() if var in env}
    return Settings(**values)
