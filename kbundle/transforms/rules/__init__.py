"""``--transforms FILE.yaml``: ordered rules, each a match and exactly one action.

Flags cover the common mappings; what else a destination needs (one replica instead of
five, a NodePort turned ClusterIP, a debug ConfigMap left behind) is a small edit on some
objects. A rules file says which objects and which edit, and can be reviewed next to the
bundle it is meant for.

All checking happens in ``load_rules`` (``loader``): a file that loads runs without
surprises. Running (``model``, ``actions``) is pure (deep copies, no I/O) and every change
is recorded; a Secret's values never reach a record or an error message (``summaries``).
"""

from __future__ import annotations

from kbundle.transforms.base import ABSENT, SECRET_VALUE
from kbundle.transforms.rules.actions import (
    BuiltinAction,
    DropAction,
    JsonPatchAction,
    MergePatchAction,
)
from kbundle.transforms.rules.loader import (
    ACTIONS,
    API_VERSION,
    KIND,
    SCHEMA_FILE,
    load_rules,
    load_schema,
)
from kbundle.transforms.rules.model import (
    TRANSFORM_NAME,
    Action,
    KindPattern,
    Match,
    Rule,
    RuleFailed,
    RulesTransform,
)

__all__ = [
    "ABSENT",
    "ACTIONS",
    "API_VERSION",
    "KIND",
    "SCHEMA_FILE",
    "SECRET_VALUE",
    "TRANSFORM_NAME",
    "Action",
    "BuiltinAction",
    "DropAction",
    "JsonPatchAction",
    "KindPattern",
    "Match",
    "MergePatchAction",
    "Rule",
    "RuleFailed",
    "RulesTransform",
    "load_rules",
    "load_schema",
]
