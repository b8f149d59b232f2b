"""The Debian-source build reads the system's apt configuration without changing it."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.debian_build import (
    AptSource,
    BuildError,
    _upstream_version,
    configured_debian_sources,
)

DEB822 = """\
Types: deb
# a comment line
URIs: http://archive.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://archive.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://sources-only.invalid/debian
Suites: bookworm
Components: main
"""


def test_deb822_sources_yield_the_archive_serving_the_release(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(DEB822)
    found = configured_debian_sources("bookworm", tmp_path, tmp_path / "none.list")
    assert found == [
        AptSource("http://archive.invalid/debian", "/usr/share/keyrings/debian-archive-keyring.gpg")
    ]


def test_one_line_sources_keep_their_signed_by_option(tmp_path: Path) -> None:
    listing = tmp_path / "sources.list"
    listing.write_text(
        "# old style\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian bookworm main contrib\n"
        "deb http://mirror.invalid/debian bookworm-updates main\n"
        "deb http://other.invalid/debian bookworm contrib\n"
    )
    found = configured_debian_sources("bookworm", tmp_path / "absent", listing)
    assert found == [AptSource("http://mirror.invalid/debian", "/k.gpg")]


@pytest.mark.parametrize(
    ("tarball", "version"),
    [
        ("kubernetes_1.20.5+really1.20.2.orig.tar.gz", "1.20.2"),
        ("kubernetes_1.28.4.orig.tar.xz", "1.28.4"),
    ],
)
def test_version_comes_from_the_code_really_inside_the_tarball(tarball: str, version: str) -> None:
    assert _upstream_version(Path(tarball)) == version


def test_unreadable_tarball_name_is_refused() -> None:
    with pytest.raises(BuildError, match="cannot read a Kubernetes version"):
        _upstream_version(Path("kubernetes_latest.orig.tar.gz"))
