"""Label selectors behave as kubectl's ``-l`` and as objects' matchLabels/matchExpressions."""

from __future__ import annotations

import pytest

from kbundle.core.errors import UsageError
from kbundle.core.selectors import from_label_selector, from_map, parse_selector

LABELS = {"app": "shop", "tier": "web", "release": "3"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=shop", True),
        ("app==shop", True),
        ("app!=shop", False),
        ("app=shop,tier=db", False),
        ("tier in (web, api)", True),
        ("tier notin (web)", False),
        ("missing notin (x)", True),
        ("app", True),
        ("!app", False),
        ("!missing", True),
        ("release>2", True),
        ("release<3", False),
        ("app=shop, tier in (web,db), !canary", True),
    ],
)
def test_kubectl_selector_syntax(selector: str, matches: bool) -> None:
    assert parse_selector(selector).matches(LABELS) is matches


@pytest.mark.parametrize("bad", ["app=sh op", "tier in ()", "release>x", "=shop", "app in web"])
def test_malformed_selector_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(UsageError, match="invalid label selector"):
        parse_selector(bad)


def test_label_selector_objects_combine_match_labels_and_expressions() -> None:
    selector = from_label_selector(
        {
            "matchLabels": {"app": "shop"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["web"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector is not None
    assert selector.matches(LABELS)
    assert not selector.matches({**LABELS, "canary": "true"})


def test_an_empty_service_selector_selects_no_pods() -> None:
    assert from_map({}) is None
    assert from_map(None) is None
    selector = from_map({"app": "shop"})
    assert selector is not None
    assert selector.matches(LABELS)
