"""What ``--storage-option KEY=VALUE`` hands the object storage backend, and which endpoint
a reference reaches. Pure: no fsspec, no SDK (the unit tests need neither).

Values arrive as strings; the backend's constructor wants Python values, so each is
converted once, here:

- ``true`` / ``false`` (any case): a bool (``anon=true``);
- a JSON number: an int or a float (``default_block_size=8388608``, ``retries=2``);
  a leading zero is no JSON number, so ``0123`` stays the string ``"0123"``;
- a JSON object, array or ``null``: that value (``config_kwargs={"connect_timeout": 5}``);
- a JSON string, in double quotes: the string inside (``key="12345"`` keeps digits text);
- anything else: the text as given (``endpoint_url=http://127.0.0.1:9000``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from kbundle.core.errors import UsageError
from kbundle.remote.refs import StorageRef

__all__ = ["aws_endpoint", "backend_options", "convert_value", "endpoint_shown"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JSON_START = re.compile(r"[-0-9\[{\"]|null$")
# where each backend's SDK is pointed elsewhere when no option says so (for messages)
_DEFAULT_ENDPOINTS = {
    "s3": "AWS S3",
    "gs": "Google Cloud Storage",
    "az": "Azure Blob Storage",
}


def convert_value(text: str) -> Any:
    """``text`` as the Python value the backend expects (see the module docstring)."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _JSON_START.match(text.strip()):
        try:
            return json.loads(text, parse_constant=_no_constant)
        except ValueError:
            return text
    return text


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a storage option value")  # NaN, Infinity: keep the text


def backend_options(
    ref: StorageRef, options: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Keyword arguments for the backend's filesystem: ``options`` converted, and for
    ``s3://`` the endpoint the AWS CLI would use when no option names one.

    botocore 1.31 and later read ``AWS_ENDPOINT_URL`` themselves, but s3fs builds its client
    through aiobotocore, and older pairs ignore it: passing it as ``endpoint_url`` makes it
    hold with every version.
    """
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        if _KEY.fullmatch(key) is None:
            raise UsageError(
                f"--storage-option {key!r}: KEY must be a Python identifier (KEY=VALUE)"
            )
        kwargs[key] = convert_value(value)
    if ref.scheme == "s3" and _named_endpoint(kwargs) is None:
        endpoint = aws_endpoint(environ)
        if endpoint is not None:
            kwargs["endpoint_url"] = endpoint
    return kwargs


def aws_endpoint(environ: Mapping[str, str]) -> str | None:
    """The S3 endpoint from the environment, as the AWS CLI picks it: ``AWS_ENDPOINT_URL_S3``,
    else ``AWS_ENDPOINT_URL``; neither when ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true.
    (Endpoints in ``~/.aws/config`` are left to botocore, which reads them itself.)"""
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true":
        return None
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def endpoint_shown(ref: StorageRef, kwargs: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """The endpoint a reference reaches, for messages: never a password in it."""
    named = _named_endpoint(kwargs)
    if named is None and ref.scheme == "gs":
        named = environ.get("STORAGE_EMULATOR_HOST") or None
    if named is None and ref.scheme == "az":
        account = kwargs.get("account_name") or environ.get("AZURE_STORAGE_ACCOUNT_NAME")
        named = f"https://{account}.blob.core.windows.net" if account else None
    return _without_userinfo(str(named)) if named else _DEFAULT_ENDPOINTS[ref.scheme]


def _named_endpoint(kwargs: Mapping[str, Any]) -> Any:
    client = kwargs.get("client_kwargs")
    from_client = client.get("endpoint_url") if isinstance(client, dict) else None
    return kwargs.get("endpoint_url") or from_client or None


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
