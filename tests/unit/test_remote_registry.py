"""Talking to registries without one: where credentials come from, when they are refused
before any request, how a registry's answers become one-line errors, and the auth
challenges (Basic, and oras' bearer-token flow against a token realm on loopback)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from kbundle.core.errors import RemoteError, UsageError
from kbundle.remote.credentials import config_path, load_docker_config, normalize_host
from kbundle.remote.errors import NotFound, Unauthorized
from kbundle.remote.refs import OciRef, RemoteOptions
from kbundle.remote.registry import RegistrySession, _ChallengeAuth
from kbundle.remote.registry_errors import describe_failure, describe_transport_error
from tests.loopback_http import JsonHandler, serving

FAR = OciRef("registry.example.com:5000", "team/shop", "v1")
NEAR = OciRef("127.0.0.1:5000", "team/shop", "v1")
SECRET = "s3cr3t-passw0rd"


def docker_config(path: Path, hosts: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"auths": hosts}))
    return path


def basic(user: str = "kbundle", password: str = SECRET) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture()
def no_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP request attempted, refused: proves "before any request"."""
    attempted: list[str] = []

    def refuse(self: requests.Session, method: str, url: str, **_: Any) -> None:
        attempted.append(f"{method} {url}")
        raise AssertionError(f"unexpected request {method} {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    return attempted


# -- which file ------------------------------------------------------------------------------


def test_the_registry_config_flag_wins_then_docker_config_then_home(tmp_path: Path) -> None:
    named = RemoteOptions(registry_config=tmp_path / "mine.json")
    assert config_path(named, {"DOCKER_CONFIG": "/elsewhere"}) == tmp_path / "mine.json"
    assert config_path(RemoteOptions(), {"DOCKER_CONFIG": "/elsewhere"}) == Path(
        "/elsewhere/config.json"
    )
    assert config_path(RemoteOptions(), {}) == Path.home() / ".docker" / "config.json"


def test_registry_keys_are_reduced_to_hosts_and_split_credentials_joined(tmp_path: Path) -> None:
    path = docker_config(
        tmp_path / "c.json",
        {
            "https://ghcr.io/v1/": {"auth": "Zm9vOmJhcg=="},
            "127.0.0.1:5000": {"username": "kbundle", "password": SECRET},
        },
    )
    config = load_docker_config(RemoteOptions(registry_config=path))
    assert config.auths["ghcr.io"]["auth"] == "Zm9vOmJhcg=="
    assert config.auths["127.0.0.1:5000"]["auth"] == basic()
    assert normalize_host("http://localhost:5000/v2/") == "localhost:5000"


def test_an_unreadable_config_is_named_but_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(f'{{"auths": {{"x": {{"auth": "{SECRET}"')
    with pytest.raises(UsageError) as caught:
        load_docker_config(RemoteOptions(registry_config=path))
    assert str(path) in caught.value.message and SECRET not in caught.value.message
    with pytest.raises(UsageError, match="no such file"):
        load_docker_config(RemoteOptions(registry_config=tmp_path / "absent.json"))


def test_no_config_file_means_anonymous_access(tmp_path: Path) -> None:
    config = load_docker_config(RemoteOptions(), {"DOCKER_CONFIG": str(tmp_path)})
    assert config.auths == {} and config.describe().endswith("config.json (absent)")


# -- plain HTTP ------------------------------------------------------------------------------


def test_credentials_over_plain_http_to_another_host_are_refused_before_any_request(
    tmp_path: Path, no_requests: list[str]
) -> None:
    path = docker_config(tmp_path / "c.json", {FAR.registry: {"auth": basic()}})
    with pytest.raises(UsageError, match="refusing to send registry credentials over plain HTTP"):
        RegistrySession(FAR, RemoteOptions(plain_http=True, registry_config=path))
    assert no_requests == []


def test_plain_http_is_fine_to_loopback_or_without_credentials(
    tmp_path: Path, no_requests: list[str]
) -> None:
    path = docker_config(
        tmp_path / "c.json", {NEAR.registry: {"auth": basic()}, "other.example.com": {}}
    )
    RegistrySession(NEAR, RemoteOptions(plain_http=True, registry_config=path))
    RegistrySession(FAR, RemoteOptions(plain_http=True, registry_config=path))
    RegistrySession(FAR, RemoteOptions(registry_config=path))
    assert no_requests == []


def test_a_token_realm_on_plain_http_elsewhere_gets_no_credentials() -> None:
    auth = _ChallengeAuth()
    auth.set_basic_auth("kbundle", SECRET)
    response = _response(401, 'Bearer realm="http://auth.example.com/token",service="r"')
    with pytest.raises(UsageError, match="over plain HTTP"):
        auth.authenticate_request(response, {})


# -- answers become errors -------------------------------------------------------------------


def _failure(status: int, code: str | None = None, **kw: Any) -> RemoteError:
    options: dict[str, Any] = {
        "action": "read",
        "subject": "manifest",
        "config": load_docker_config(RemoteOptions(), {"DOCKER_CONFIG": "/nowhere"}),
        "has_credentials": False,
        "plain_http": False,
    }
    options.update(kw)
    return describe_failure(FAR, status, code, **options)


def test_401_without_credentials_says_where_they_are_read_from() -> None:
    error = _failure(401)
    assert isinstance(error, Unauthorized)
    assert error.message == (
        "oci://registry.example.com:5000/team/shop:v1: the registry needs credentials; none "
        "for registry.example.com:5000 in /nowhere/config.json (absent)"
    )
    hint = error.hint or ""
    assert "docker login registry.example.com:5000" in hint
    assert "--registry-config" in hint and "$DOCKER_CONFIG" in hint


def test_401_with_credentials_says_they_were_refused() -> None:
    assert "refused the credentials" in _failure(401, has_credentials=True).message


def test_403_says_access_is_denied() -> None:
    error = _failure(403, action="write", has_credentials=True)
    assert isinstance(error, Unauthorized) and "may not write team/shop" in error.message


@pytest.mark.parametrize(
    ("ref", "code", "subject", "expected"),
    [
        (FAR, "MANIFEST_UNKNOWN", "manifest", "no tag 'v1' in registry.example.com:5000/team/shop"),
        (
            OciRef(FAR.registry, FAR.repository, digest="sha256:" + "a" * 64),
            None,
            "manifest",
            "no digest sha256:aaaa",
        ),
        (FAR, "NAME_UNKNOWN", "manifest", "no repository team/shop in registry.example.com"),
        (FAR, "BLOB_UNKNOWN", "blob shop.kbundle", "blob shop.kbundle is missing"),
    ],
)
def test_404_names_what_is_missing(
    ref: OciRef, code: str | None, subject: str, expected: str
) -> None:
    error = describe_failure(
        ref,
        404,
        code,
        action="read",
        subject=subject,
        config=load_docker_config(RemoteOptions(), {"DOCKER_CONFIG": "/nowhere"}),
        has_credentials=False,
        plain_http=False,
    )
    assert isinstance(error, NotFound) and expected in error.message
    assert error.message.startswith(str(ref))


def test_other_answers_name_the_status_and_code() -> None:
    error = _failure(500, "UNKNOWN", action="write", subject="blob shop.kbundle")
    assert error.message.endswith("answered 500 UNKNOWN when asked to write blob shop.kbundle")
    assert "try again" in (error.hint or "")
    assert "drop --plain-http" in (_failure(400, plain_http=True).hint or "")


@pytest.mark.parametrize(
    ("error", "message", "hint"),
    [
        (
            requests.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            "does not speak HTTPS",
            "pass --plain-http",
        ),
        (
            requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify"),
            "TLS error with registry.example.com:5000 (certificate verify failed)",
            "REQUESTS_CA_BUNDLE",
        ),
        (
            requests.exceptions.ConnectionError("[Errno 111] Connection refused"),
            "cannot reach the registry at https://registry.example.com:5000 (connection refused)",
            "running",
        ),
        (
            requests.exceptions.ConnectionError("Name or service not known"),
            "(unknown host)",
            "address",
        ),
        (requests.exceptions.ReadTimeout("read timed out"), "did not answer in time", "again"),
    ],
)
def test_a_request_without_an_answer_becomes_one_line(
    error: requests.exceptions.RequestException, message: str, hint: str
) -> None:
    described = describe_transport_error(FAR, error, plain_http=False)
    assert message in described.message and hint in (described.hint or "")
    assert "\n" not in described.message


# -- auth challenges --------------------------------------------------------------------------


def _response(status: int, challenge: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Www-Authenticate"] = challenge
    return response


def test_a_basic_challenge_is_answered_once_with_the_configured_credentials() -> None:
    auth = _ChallengeAuth()
    auth.set_basic_auth("kbundle", SECRET)
    assert auth.get_auth_header() == {}  # nothing sent before the registry asks
    headers, changed = auth.authenticate_request(_response(401, 'Basic realm="r"'), {"A": "1"})
    assert changed and headers == {"A": "1", "Authorization": f"Basic {basic()}"}
    assert auth.get_auth_header() == {"Authorization": f"Basic {basic()}"}  # then every time
    _, again = auth.authenticate_request(_response(401, 'Basic realm="r"'), headers)
    assert not again  # refused credentials are not sent in a loop


def test_a_basic_challenge_without_credentials_is_not_answered() -> None:
    _, changed = _ChallengeAuth().authenticate_request(_response(401, 'Basic realm="r"'), {})
    assert not changed


class _TokenRealm(JsonHandler):
    """A token endpoint: a token per scope, for the right Basic credentials only."""

    issued: list[tuple[str, str]]

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        if self.headers.get("Authorization") != f"Basic {basic()}":
            self.send_response(401)
            self.end_headers()
            return
        scope = query["scope"][0]
        self.issued.append((query["service"][0], scope))
        self.answer(200, json.dumps({"token": f"token-for-{scope}"}).encode())


@pytest.fixture()
def token_realm() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    issued: list[tuple[str, str]] = []
    handler = type("Realm", (_TokenRealm,), {"issued": issued})
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield f"{url}/token", issued


def test_a_bearer_challenge_gets_a_token_through_oras_and_a_wider_scope_a_new_one(
    token_realm: tuple[str, list[tuple[str, str]]],
) -> None:
    realm, issued = token_realm
    auth = _ChallengeAuth()
    auth.session = requests.Session()
    auth.set_basic_auth("kbundle", SECRET)
    pull = f'Bearer realm="{realm}",service="reg",scope="repository:shop:pull"'
    headers, changed = auth.authenticate_request(_response(401, pull), {})
    assert changed and headers["Authorization"] == "Bearer token-for-repository:shop:pull"
    assert auth.get_auth_header() == {"Authorization": "Bearer token-for-repository:shop:pull"}
    push = f'Bearer realm="{realm}",service="reg",scope="repository:shop:pull,push"'
    headers, changed = auth.authenticate_request(_response(401, push), headers)
    assert changed and headers["Authorization"] == "Bearer token-for-repository:shop:pull,push"
    assert issued == [("reg", "repository:shop:pull"), ("reg", "repository:shop:pull,push")]


def test_a_bearer_challenge_with_wrong_credentials_is_not_answered(
    token_realm: tuple[str, list[tuple[str, str]]],
) -> None:
    realm, _ = token_realm
    auth = _ChallengeAuth()
    auth.session = requests.Session()
    auth.set_basic_auth("kbundle", "wrong")
    challenge = f'Bearer realm="{realm}",service="reg",scope="repository:shop:pull"'
    _, changed = auth.authenticate_request(_response(401, challenge), {})
    assert not changed
