"""Settings from ``RECSYS_*`` variables: typed, and a value that cannot be one is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.errors import ConfigError
from recsys.settings import get_settings


def test_typed_values_and_defaults() -> None:
    settings = get_settings({"RECSYS_DATA_DIR": "/srv/recsys", "RECSYS_METRICS_PORT": " 9100 ",
                             "RECSYS_PUBLIC_DEMO": "Yes", "RECSYS_DATA_MIRROR": ""})
    assert settings.data_dir == Path("/srv/recsys") and settings.metrics_port == 9100
    assert settings.public_demo is True and settings.data_mirror is None
    assert get_settings({"RECSYS_PUBLIC_DEMO": "off"}).public_demo is False
    assert get_settings({"RECSYS_METRICS_PORT": "0"}).metrics_port == 0  # any free port
    assert get_settings({}).data_dir == Path("data")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RECSYS_PUBLIC_DEMO", "ture", r"RECSYS_PUBLIC_DEMO='ture': expected one of 1, true"),
        ("RECSYS_METRICS_PORT", "abc", r"RECSYS_METRICS_PORT='abc': expected a TCP port"),
        ("RECSYS_METRICS_PORT", "70000", r"RECSYS_METRICS_PORT='70000': expected a TCP port"),
        ("RECSYS_METRICS_PORT", "-1", r"expected a TCP port, 0 to 65535 \(0: any free port\)"),
        ("RECSYS_DATA_DIR", " ", r"RECSYS_DATA_DIR is empty: expected a folder"),
    ],
)  # fmt: skip
def test_a_value_that_cannot_be_the_setting_is_named(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        get_settings({variable: value})
