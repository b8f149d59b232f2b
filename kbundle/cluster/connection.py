"""Turn ``--kubeconfig``/``--context`` into a Transport, the way kubectl reads them.

The kubeconfig is read by the official client (exec plugins, token files, client
certificates, proxies); this module only picks the file and context and explains failures.
It is the one place that imports the client, and only when a command connects: loading it
costs a quarter of a second that offline commands never pay.
"""

from __future__ import annotations

import os
from pathlib import Path

from kbundle.cluster.transport import Target, Transport
from kbundle.core.errors import UsageError


def kubeconfig_path(explicit: str | None) -> str | None:
    """``--kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``, else None."""
    if explicit:
        return explicit
    from_env = os.environ.get("KUBECONFIG")
    if from_env:
        return from_env
    default = Path.home() / ".kube" / "config"
    return str(default) if default.exists() else None


def connect(
    kubeconfig: str | None = None, context: str | None = None, *, pool_size: int = 16
) -> Transport:
    """Open a transport to the cluster of ``context`` (default: the current context)."""
    from kubernetes import config as kube_config  # noqa: PLC0415 - see the module docstring
    from kubernetes.client import ApiClient, Configuration  # noqa: PLC0415
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415

    path = kubeconfig_path(kubeconfig)
    configuration = Configuration()
    if path is None:
        if not os.environ.get("KUBERNETES_SERVICE_HOST"):
            raise UsageError(
                "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config"
            )
        kube_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        chosen, namespace = context or "in-cluster", _in_cluster_namespace()
    else:
        chosen, namespace = _choose_context(path, context)
        try:
            kube_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=path,
                context=chosen,
                client_configuration=configuration,
                persist_config=False,
            )
        except ConfigException as error:
            raise UsageError(f"kubeconfig {path}, context {chosen}: {error}") from error
    configuration.connection_pool_maxsize = pool_size
    return Transport(
        ApiClient(configuration),
        Target(context=chosen, server=configuration.host, namespace=namespace),
    )


def _in_cluster_namespace() -> str:
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.exists() else "default"


def _choose_context(path: str, requested: str | None) -> tuple[str, str]:
    """The context to use and its namespace (``default`` when it names none)."""
    from kubernetes import config as kube_config  # noqa: PLC0415 - see the module docstring
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415

    if not Path(path.split(os.pathsep, maxsplit=1)[0]).expanduser().exists():
        raise UsageError(f"kubeconfig {path} does not exist")
    try:
        contexts, active = kube_config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
    except ConfigException as error:
        raise UsageError(f"kubeconfig {path}: {error}") from error
    by_name = {c["name"]: c for c in contexts}
    if requested is None:
        if not active:
            raise UsageError(f"kubeconfig {path} has no current context; pass --context")
        requested = str(active["name"])
    if requested not in by_name:
        raise UsageError(
            f"context {requested!r} is not in kubeconfig {path} (has: {', '.join(by_name)})"
        )
    namespace = (by_name[requested].get("context") or {}).get("namespace") or "default"
    return requested, str(namespace)
