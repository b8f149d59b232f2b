"""Build kube-apiserver, kube-controller-manager and kubectl from Debian's kubernetes source.

This is the last resort of the binary locator: the machine has no container engine and no
download site but the package registries, so the control plane is compiled from the source
package Debian ships (1.20.x with its ``vendor/`` tree). The system's apt sources are never
edited: a private source list, package-list folder and cache are passed with ``-o`` options.

Safe to re-run: a lock serialises concurrent builds, the result is installed by an atomic
rename, and a failed attempt leaves nothing that looks like a finished cache entry.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testbed.paths import binaries_dir, cache_root

SYSTEM_PACKAGES = (
    "golang-go",  # the Go toolchain (1.19 on bookworm)
    "etcd-server",  # etcd 3.4, used as-is from the package
    "rsync",  # used by the kubernetes build scripts
    "golang-github-modern-go-reflect2-dev",  # replaces the vendored reflect2 (see below)
)
BUILT_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kubectl")
# The vendored reflect2 1.0.1 crashes the apiserver under Go >= 1.18 ("unexpected fault
# address" in mapiterinit on the first server-side apply); Debian's 1.0.2 is fixed.
REFLECT2_VENDOR_PATH = Path("vendor/github.com/modern-go/reflect2")
REFLECT2_DEBIAN_PATH = Path("/usr/share/gocode/src/github.com/modern-go/reflect2")


class BuildError(RuntimeError):
    """The control-plane build could not finish; the message says which step and why."""


@dataclass(frozen=True)
class AptSource:
    """One Debian archive the system is already configured to use."""

    uri: str
    signed_by: str | None


def say(message: str) -> None:
    """Progress goes to stderr so command output stays clean."""
    print(f"[testbed build] {message}", file=sys.stderr, flush=True)


def build_from_debian_source() -> Path:
    """Build (or find already built) binaries and return their cache folder."""
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(root / ".build.lock"):
        existing = finished_builds()
        if existing:
            say(f"binaries already cached in {existing[0]}")
            return existing[0]
        started = time.monotonic()
        _ensure_system_packages()
        work = root / "build"
        shutil.rmtree(work, ignore_errors=True)  # a failed attempt leaves stale generators
        work.mkdir(parents=True)
        tarball = _download_source(work)
        version = _upstream_version(tarball)
        tree = _unpack(tarball, work / "src")
        _replace_reflect2(tree)
        _compile(tree, version, work)
        target = _install(tree, version)
        shutil.rmtree(work, ignore_errors=True)
        say(f"done in {time.monotonic() - started:.0f}s: {target}")
        return target


def finished_builds() -> list[Path]:
    """Cached complete builds, newest version first."""
    root = cache_root()
    if not root.is_dir():
        return []
    found = [d for d in root.iterdir() if d.is_dir() and (d / ".complete").is_file()]
    return sorted(found, key=lambda d: _version_key(d.name), reverse=True)


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text))


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("another build is running; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(
    args: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, step: str
) -> None:
    """Run one build step, streaming its output; raise BuildError naming the step."""
    say(f"{step}: {' '.join(args)}")
    result = subprocess.run(list(args), cwd=cwd, env=env, check=False)
    if result.returncode != 0:
        raise BuildError(f"{step} failed (exit {result.returncode}): {' '.join(args)}")


def _privileged(args: Sequence[str], packages: Sequence[str] = SYSTEM_PACKAGES) -> list[str]:
    if os.geteuid() == 0:
        return list(args)
    if (
        shutil.which("sudo")
        and subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False).returncode == 0
    ):
        return ["sudo", "-n", *args]
    raise BuildError(
        "installing Debian packages needs root; run as root or install them first: "
        f"apt-get install -y {' '.join(packages)}"
    )


def _missing_packages(packages: Sequence[str] = SYSTEM_PACKAGES) -> list[str]:
    missing = []
    for package in packages:
        probe = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in probe.stdout:
            missing.append(package)
    return missing


def _ensure_system_packages() -> None:
    ensure_system_packages(SYSTEM_PACKAGES, step="install build tools")


def ensure_system_packages(packages: Sequence[str], *, step: str) -> None:
    """Install the Debian ``packages`` not installed yet (root or passwordless sudo): the
    build tools here, the OCI registry for ``testbed.registry``."""
    missing = _missing_packages(packages)
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(_privileged(["apt-get", "update"], missing), env=env, step="refresh package lists")
    _run(
        _privileged(["apt-get", "install", "-y", "--no-install-recommends", *missing], missing),
        env=env,
        step=step,
    )


def configured_debian_sources(
    codename: str,
    sources_dir: Path = Path("/etc/apt/sources.list.d"),
    sources_list: Path = Path("/etc/apt/sources.list"),
) -> list[AptSource]:
    """Archives already configured for ``codename`` main (deb822 and one-line formats)."""
    found: list[AptSource] = []
    for path in sorted(sources_dir.glob("*.sources")) if sources_dir.is_dir() else []:
        for stanza in path.read_text().split("\n\n"):
            fields = _deb822_fields(stanza)
            if (
                "deb" in fields.get("types", "").split()
                and codename in fields.get("suites", "").split()
                and "main" in fields.get("components", "").split()
            ):
                found.extend(
                    AptSource(uri, fields.get("signed-by"))
                    for uri in fields.get("uris", "").split()
                )
    if sources_list.is_file():
        for line in sources_list.read_text().splitlines():
            match = re.match(
                r"^deb\s+(\[(?P<opts>[^]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)\s+"
                r"(?P<comps>.*)$",
                line.strip(),
            )
            if match and match["suite"] == codename and "main" in match["comps"].split():
                signed = re.search(r"signed-by=(\S+)", match["opts"] or "")
                found.append(AptSource(match["uri"], signed.group(1) if signed else None))
    return found


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line or line[:1].isspace():
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
    return fields


def _codename() -> str:
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    raise BuildError("cannot tell the Debian release: /etc/os-release has no VERSION_CODENAME")


def _download_source(work: Path) -> Path:
    codename = _codename()
    sources = configured_debian_sources(codename)
    if not sources:
        raise BuildError(f"no configured Debian archive serves '{codename} main'")
    apt_dir = work / "apt"
    (apt_dir / "lists" / "partial").mkdir(parents=True)
    (apt_dir / "cache" / "archives" / "partial").mkdir(parents=True)
    lines = []
    for source in sources:
        option = f"[signed-by={source.signed_by}] " if source.signed_by else ""
        lines.append(f"deb-src {option}{source.uri} {codename} main")
    (apt_dir / "src.list").write_text("\n".join(lines) + "\n")
    options = [
        "-o",
        f"Dir::Etc::SourceList={apt_dir / 'src.list'}",
        "-o",
        "Dir::Etc::SourceParts=/dev/null",
        "-o",
        f"Dir::State::Lists={apt_dir / 'lists'}",
        "-o",
        f"Dir::Cache={apt_dir / 'cache'}",
        "-o",
        "APT::Sandbox::User=root" if os.geteuid() == 0 else "Debug::NoLocking=1",
    ]
    download = work / "download"
    download.mkdir()
    _run(["apt-get", *options, "update"], step="fetch source package lists")
    _run(
        ["apt-get", *options, "source", "--download-only", "kubernetes"],
        cwd=download,
        step="download kubernetes source package",
    )
    tarballs = sorted(download.glob("kubernetes_*.orig.tar.*"))
    if not tarballs:
        raise BuildError(f"the source package download left no orig tarball in {download}")
    return tarballs[0]


def _upstream_version(tarball: Path) -> str:
    """``kubernetes_1.20.5+really1.20.2.orig.tar.gz`` -> ``1.20.2`` (the code really inside)."""
    upstream = tarball.name.split("_", 1)[1].split(".orig.", 1)[0]
    upstream = upstream.rsplit("really", 1)[-1]
    match = re.match(r"\d+\.\d+\.\d+", upstream)
    if not match:
        raise BuildError(f"cannot read a Kubernetes version from {tarball.name}")
    return match.group(0)


def _unpack(tarball: Path, into: Path) -> Path:
    say(f"unpacking {tarball.name}")
    into.mkdir()
    with tarfile.open(tarball) as archive:
        archive.extractall(into, filter="data")
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise BuildError(f"{tarball.name} does not unpack to a single folder")
    return tops[0]


def _replace_reflect2(tree: Path) -> None:
    vendored = tree / REFLECT2_VENDOR_PATH
    if not REFLECT2_DEBIAN_PATH.is_dir():
        raise BuildError(
            f"{REFLECT2_DEBIAN_PATH} is missing (golang-github-modern-go-reflect2-dev)"
        )
    say("replacing vendored modern-go/reflect2 with Debian's fixed copy")
    shutil.rmtree(vendored, ignore_errors=True)
    shutil.copytree(REFLECT2_DEBIAN_PATH, vendored, symlinks=False)
    (vendored / "go.mod").unlink(missing_ok=True)


def _compile(tree: Path, version: str, work: Path) -> None:
    major, minor, _ = version.split(".")
    version_file = work / "version.env"
    # Without a git checkout the build would stamp v0.0.0; the version file gives the real one.
    version_file.write_text(
        f"KUBE_GIT_VERSION='v{version}'\nKUBE_GIT_MAJOR='{major}'\nKUBE_GIT_MINOR='{minor}'\n"
        "KUBE_GIT_TREE_STATE='clean'\nKUBE_GIT_COMMIT=''\n"
    )
    gopath = tree / ".go"
    (gopath / "src" / "k8s.io").mkdir(parents=True, exist_ok=True)
    link = gopath / "src" / "k8s.io" / "kubernetes"
    if not link.exists():
        link.symlink_to(Path("../../.."))
    env = {
        **os.environ,
        "GOPATH": str(gopath),
        "CGO_ENABLED": "0",
        "GOCACHE": str(work / "gocache"),
        "GOPROXY": "off",
        "KUBE_GIT_VERSION_FILE": str(version_file),
    }
    what = " ".join(f"cmd/{name}" for name in BUILT_COMMANDS)
    _run(
        ["make", f"WHAT={what}"],
        cwd=tree,
        env=env,
        step=f"compile {', '.join(BUILT_COMMANDS)} (about 6 minutes on 2 cores)",
    )


def _install(tree: Path, version: str) -> Path:
    built = next(
        (
            d
            for d in (tree / "_output" / "local" / "bin").glob("*/*")
            if (d / "kube-apiserver").is_file()
        ),
        None,
    )
    if built is None:
        raise BuildError("the build finished but left no kube-apiserver in _output/local/bin")
    etcd = shutil.which("etcd") or "/usr/bin/etcd"
    if not Path(etcd).is_file():
        raise BuildError("etcd is not installed (Debian package etcd-server)")
    target = binaries_dir(version)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in BUILT_COMMANDS:
        shutil.copy2(built / name, staging / name)
    shutil.copy2(etcd, staging / "etcd")
    (staging / ".complete").write_text(f"built from Debian's kubernetes source, v{version}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


if __name__ == "__main__":  # pragma: no cover - manual entry point
    print(build_from_debian_source())
