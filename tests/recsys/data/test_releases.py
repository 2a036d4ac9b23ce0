"""The release registry: official facts, layouts and unknown names."""

from __future__ import annotations

import pytest

from recsys.data.releases import RELEASES, Layout, get_release
from recsys.errors import UnknownDatasetError

# GroupLens' published archive sizes and SHA-256 (data/README.md, "Verification").
PUBLISHED = {
    "ml-latest-small": (
        978_202,
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    ),
    "ml-100k": (4_924_029, "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"),
    "ml-1m": (5_917_549, "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20"),
    "ml-20m": (198_702_078, "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3"),
    "ml-25m": (261_978_986, "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa"),
}


def test_seven_official_releases_with_official_urls() -> None:
    assert list(RELEASES) == [
        "ml-latest-small", "ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m",
    ]  # fmt: skip
    for name, release in RELEASES.items():
        assert release.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"


@pytest.mark.parametrize(("name", "facts"), PUBLISHED.items())
def test_published_size_and_sha256(name: str, facts: tuple[int, str]) -> None:
    release = get_release(name)
    assert (release.size, release.sha256) == facts
    assert release.md5_url is None


@pytest.mark.parametrize("name", ["ml-10m", "ml-32m"])
def test_md5_releases_point_at_grouplens_md5_file(name: str) -> None:
    release = get_release(name)
    assert release.sha256 is None
    assert release.md5_url == release.url + ".md5"


def test_folders_layouts_scales_and_flags() -> None:
    facts = {n: (r.folder, r.layout, r.rating_scale, r.has_genome, r.has_demographics)
             for n, r in RELEASES.items()}  # fmt: skip
    assert facts == {
        "ml-latest-small": ("ml-latest-small", Layout.CSV, (0.5, 5.0), False, False),
        "ml-100k": ("ml-100k", Layout.ML100K, (1.0, 5.0), False, True),
        "ml-1m": ("ml-1m", Layout.DAT, (1.0, 5.0), False, True),
        "ml-10m": ("ml-10M100K", Layout.DAT, (0.5, 5.0), False, False),
        "ml-20m": ("ml-20m", Layout.CSV, (0.5, 5.0), True, False),
        "ml-25m": ("ml-25m", Layout.CSV, (0.5, 5.0), True, False),
        "ml-32m": ("ml-32m", Layout.CSV, (0.5, 5.0), False, False),
    }
    assert get_release("ml-1m").encodings == ("utf-8", "latin-1")  # Latin-1, or converted
    assert get_release("ml-20m").required_files == (
        "ratings.csv", "movies.csv", "tags.csv", "links.csv",
        "genome-scores.csv", "genome-tags.csv",
    )  # fmt: skip


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownDatasetError) as raised:
        get_release("ml-2m")
    message = str(raised.value)
    assert "'ml-2m'" in message
    assert all(name in message for name in RELEASES)


def test_synthetic_names_are_generated_csv_releases() -> None:
    release = get_release("synthetic-20m")
    assert release.synthetic and release.layout is Layout.CSV
    assert release.required_files == ("ratings.csv", "movies.csv")
    with pytest.raises(UnknownDatasetError):
        get_release("synthetic/../../etc")
