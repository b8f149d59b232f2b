"""What went wrong with object storage, in one line naming the reference, from whatever the
backend raised: fsspec's backends translate some SDK errors into Python's (FileNotFoundError,
PermissionError) and let others through (botocore's, aiohttp's, Azure's, Google's).

Pure: the SDKs' exception classes are recognised by name and their error codes read as
attributes, so nothing here imports them (they may not be installed). Messages never carry a
credential: the backend's own text appears only for failures kbundle does not recognise, and
then with every storage option's value masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from enum import Enum

from kbundle.core.errors import KbundleError, RemoteError, UsageError
from kbundle.remote.refs import StorageRef

__all__ = ["Failure", "classify", "storage_error"]


class Failure(Enum):
    """The kinds of failure a user can act on differently."""

    NO_CREDENTIALS = "no credentials"
    BAD_OPTION = "a storage option the backend does not take"
    NO_BUCKET = "no such bucket"
    NOT_FOUND = "no such object"
    DENIED = "access denied"
    UNREACHABLE = "endpoint unreachable"
    OTHER = "other"


_PRECEDENCE = tuple(Failure)  # the first found wins: the most specific cause

_NO_CREDENTIALS_TYPES = {
    "NoCredentialsError",  # botocore
    "PartialCredentialsError",
    "DefaultCredentialsError",  # google.auth
    "CredentialUnavailableError",  # azure.identity
}
_UNREACHABLE_TYPES = {
    "EndpointConnectionError",  # botocore
    "ConnectTimeoutError",
    "ConnectionClosedError",
    "ClientConnectorError",  # aiohttp
    "ClientConnectionError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "ServiceRequestError",  # azure.core
    "gaierror",  # socket: the host name does not resolve
    "ConnectionRefusedError",
    "ConnectionResetError",
}
_CODES = {
    "NoSuchBucket": Failure.NO_BUCKET,  # S3
    "ContainerNotFound": Failure.NO_BUCKET,  # Azure
    "NoSuchKey": Failure.NOT_FOUND,
    "BlobNotFound": Failure.NOT_FOUND,
    "404": Failure.NOT_FOUND,
    "AccessDenied": Failure.DENIED,
    "InvalidAccessKeyId": Failure.DENIED,
    "SignatureDoesNotMatch": Failure.DENIED,
    "ExpiredToken": Failure.DENIED,
    "AllAccessDisabled": Failure.DENIED,
    "AuthenticationFailed": Failure.DENIED,
    "AuthorizationFailure": Failure.DENIED,
    "AuthorizationPermissionMismatch": Failure.DENIED,
    "401": Failure.DENIED,
    "403": Failure.DENIED,
}
_UNEXPECTED = re.compile(r"unexpected keyword argument '(\w+)'")
_NO_BUCKET_TEXTS = ("bucket does not exist", "container does not exist", "containernotfound")

_CONTAINER_WORD = {"s3": "bucket", "gs": "bucket", "az": "container"}
_BACKEND = {"s3": "s3fs", "gs": "gcsfs", "az": "adlfs"}
_CREDENTIALS = {
    "s3": "credentials come from AWS's chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE and ~/.aws, or the machine's role; --storage-option profile=NAME picks "
    "a profile",
    "gs": "credentials come from Google's application default credentials: "
    "GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, or the "
    "machine's service account; --storage-option token=FILE.json names a key file",
    "az": "credentials come from AZURE_STORAGE_CONNECTION_STRING, or "
    "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN, "
    "or Azure's default chain: az login, a managed identity",
}
_ENDPOINT_HOW = {
    "s3": "AWS_ENDPOINT_URL or --storage-option endpoint_url=URL",
    "gs": "STORAGE_EMULATOR_HOST or --storage-option endpoint_url=URL",
    "az": "AZURE_STORAGE_ACCOUNT_NAME or --storage-option account_name=NAME",
}


def classify(error: BaseException) -> Failure:
    """The kind of ``error``, from it and every exception it was raised from or during."""
    found: set[Failure] = set()
    for link in _chain(error):
        found.update(_signals(link))
    return next((failure for failure in _PRECEDENCE if failure in found), Failure.OTHER)


def storage_error(
    ref: StorageRef,
    action: str,
    failure: Failure,
    error: BaseException,
    *,
    endpoint: str,
    secrets: Iterable[str] = (),
) -> KbundleError:
    """One line naming ``ref`` and what to do; ``action`` is what was tried (``download``)."""
    bucket = ref.url.split("://", 1)[1].split("/", 1)[0]
    word = _CONTAINER_WORD[ref.scheme]
    if failure is Failure.NO_CREDENTIALS:
        return RemoteError(
            f"{ref}: no credentials found to {action} it", hint=_CREDENTIALS[ref.scheme]
        )
    if failure is Failure.BAD_OPTION:
        named = _UNEXPECTED.search(str(error))
        option = f" {named.group(1)}" if named else ""
        return UsageError(
            f"{ref}: --storage-option{option} is not an option of {_BACKEND[ref.scheme]}",
            hint=f"KEY names an argument of {_BACKEND[ref.scheme]}'s filesystem class",
        )
    if failure is Failure.NO_BUCKET:
        return RemoteError(
            f"{ref}: no such {word} {bucket!r} at {endpoint}",
            hint=f"create the {word}, or check its name and the endpoint: "
            f"{_ENDPOINT_HOW[ref.scheme]}",
        )
    if failure is Failure.NOT_FOUND:
        return RemoteError(
            f"{ref}: no such object in {word} {bucket!r}",
            hint="check the key: names are case-sensitive and a prefix is not an object",
        )
    if failure is Failure.DENIED:
        return RemoteError(f"{ref}: access denied to {action} it", hint=_CREDENTIALS[ref.scheme])
    if failure is Failure.UNREACHABLE:
        return RemoteError(
            f"{ref}: cannot reach {endpoint} to {action} it",
            hint=f"check the network and the endpoint: {_ENDPOINT_HOW[ref.scheme]}",
        )
    detail = _masked(_first_line(error), secrets)
    return RemoteError(f"{ref}: {action} failed: {type(error).__name__}: {detail}")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending and len(seen) < 20:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        pending.extend(e for e in (link.__cause__, link.__context__) if e is not None)


def _signals(error: BaseException) -> set[Failure]:
    found: set[Failure] = set()
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & _NO_CREDENTIALS_TYPES:
        found.add(Failure.NO_CREDENTIALS)
    if names & _UNREACHABLE_TYPES:
        found.add(Failure.UNREACHABLE)
    if isinstance(error, TypeError) and "unexpected keyword argument" in str(error):
        found.add(Failure.BAD_OPTION)
    for code in _codes(error):
        if code in _CODES:
            found.add(_CODES[code])
    text = str(error).lower()
    if any(phrase in text for phrase in _NO_BUCKET_TEXTS):
        found.add(Failure.NO_BUCKET)
    if isinstance(error, FileNotFoundError):
        found.add(Failure.NOT_FOUND)
    if isinstance(error, PermissionError):
        found.add(Failure.DENIED)
    return found


def _codes(error: BaseException) -> set[str]:
    """Error codes the SDKs attach: botocore's ``response["Error"]["Code"]``, Azure's
    ``error_code``, HTTP statuses as ``status_code``, ``status`` or ``code``."""
    codes: set[str] = set()
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code is not None:
            codes.add(str(code))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status is not None:
            codes.add(str(status))
    for name in ("error_code", "status_code", "status", "code"):
        value = getattr(error, name, None)
        if isinstance(value, str | int) and not isinstance(value, bool):
            codes.add(str(getattr(value, "value", value)))
    return codes


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else "(no message)"


def _masked(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
