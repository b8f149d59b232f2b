"""Find the control-plane binaries; build them from Debian's source as a last resort.

Order, first match wins: ``KUBEBUILDER_ASSETS`` (the envtest convention), the kbundle cache
(``~/.cache/kbundle/testenv/<version>/``), then a build from Debian's kubernetes source
package that fills the cache. (Existing clusters named by kubeconfig variables are handled
before any of this, by ``testbed.clusters``.)
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from testbed import debian_build

REQUIRED = ("etcd", "kube-apiserver", "kube-controller-manager")


class BinariesNotFound(RuntimeError):
    """No usable set of control-plane binaries; the message says what to do."""


@dataclass(frozen=True)
class Binaries:
    """One consistent set of control-plane binaries."""

    folder: Path
    origin: str
    version: tuple[int, int, int]

    @property
    def etcd(self) -> Path:
        return self.folder / "etcd"

    @property
    def kube_apiserver(self) -> Path:
        return self.folder / "kube-apiserver"

    @property
    def kube_controller_manager(self) -> Path:
        return self.folder / "kube-controller-manager"

    @property
    def kubectl(self) -> Path | None:
        path = self.folder / "kubectl"
        return path if path.is_file() else None

    @property
    def version_text(self) -> str:
        return ".".join(str(p) for p in self.version)


def locate(*, build_if_missing: bool = True) -> Binaries:
    """Return the first complete set of binaries, building one if allowed."""
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        folder = Path(assets).expanduser()
        missing = [name for name in REQUIRED if not (folder / name).is_file()]
        if missing:
            raise BinariesNotFound(
                f"KUBEBUILDER_ASSETS={folder} lacks {', '.join(missing)} (envtest's assets ship "
                "no kube-controller-manager; add one of the same version, or unset the variable "
                "to use kbundle's own build)"
            )
        return _described(folder, "KUBEBUILDER_ASSETS")
    cached = debian_build.finished_builds()
    if cached:
        return _described(cached[0], "cache")
    if not build_if_missing:
        raise BinariesNotFound(
            "no control-plane binaries: set KUBEBUILDER_ASSETS, or run "
            "`python -m testbed build` to build them from Debian's source (~6 min)"
        )
    return _described(debian_build.build_from_debian_source(), "built from Debian source")


def _described(folder: Path, origin: str) -> Binaries:
    output = subprocess.run(
        [str(folder / "kube-apiserver"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", output)
    if not match:
        raise BinariesNotFound(f"{folder / 'kube-apiserver'} --version printed no version")
    major, minor, patch = (int(g) for g in match.groups())
    return Binaries(folder=folder, origin=origin, version=(major, minor, patch))
