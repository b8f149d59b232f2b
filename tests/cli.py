"""Running the installed ``kbundle`` command the way a user does, for integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from testbed import ClusterUnderTest
from tests.oracles import BundleContent, open_bundle

KBUNDLE = str(Path(sys.executable).parent / "kbundle")


def run_kbundle(
    *args: str, env: dict[str, str] | None = None, input_bytes: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [KBUNDLE, *args],
        capture_output=True,
        check=False,
        timeout=300,
        env={**os.environ, **(env or {})},
        input=input_bytes,
    )


def on(cluster: ClusterUnderTest) -> list[str]:
    """The flags that point kbundle at ``cluster``."""
    return ["--kubeconfig", str(cluster.kubeconfig), "--context", cluster.context]


def export(
    cluster: ClusterUnderTest, output: Path, *args: str, env: dict[str, str] | None = None
) -> BundleContent:
    result = run_kbundle("export", *on(cluster), "-o", str(output), *args, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return open_bundle(output)
