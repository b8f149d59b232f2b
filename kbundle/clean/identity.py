"""Rules for ServiceAccounts and their token Secrets.

Tokens are signed by the source cluster's key and tied to the source ServiceAccount's UID:
the destination's token controller must mint its own.
"""

from __future__ import annotations

from kbundle.clean.core import Target, child, drop_if_empty, list_at, pop_keys, remove_annotations

SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
TOKEN_DATA_KEYS = ("token", "ca.crt", "namespace")


def drop_generated_token_references(target: Target) -> None:
    """Generated token Secrets are not exported, so the SA must not list them."""
    namespace = str(target.metadata.get("namespace") or "")
    generated = target.context.generated_token_secrets

    def is_generated(entry: object) -> bool:
        if not isinstance(entry, dict):
            return False
        return (str(entry.get("namespace") or namespace), str(entry.get("name"))) in generated

    if "secrets" in target.obj:
        target.obj["secrets"] = [e for e in list_at(target.obj, "secrets") if not is_generated(e)]
        drop_if_empty(target.obj, "secrets")


def reset_user_token_secret(target: Target) -> None:
    """Leave a user-made token Secret for the destination's token controller to fill.

    With the source SA's UID in ``kubernetes.io/service-account.uid`` the destination's
    token controller deletes the Secret as orphaned; with the source token it would keep
    a token the destination cannot verify. ``kubernetes.io/service-account.name`` stays:
    it names the account to mint for.
    """
    if target.obj.get("type") != SERVICE_ACCOUNT_TOKEN:
        return
    pop_keys(child(target.obj, "data"), *TOKEN_DATA_KEYS)
    drop_if_empty(target.obj, "data")
    remove_annotations(target, "kubernetes.io/service-account.uid")
