"""Fixtures of the alert tests: the actors and the shared dashboard of the user-plane tests."""

from __future__ import annotations

from tests.dashboards.conftest import (  # noqa: F401  (fixtures, registered by import)
    dashboard,
    fast_password_hashing,
    rule,
    shared_user,
)
