"""Fixtures of the dashboard tests: a browser per actor around the owner's shared dashboard.

The actors, the dashboard and its rule are the root conftest's fixtures.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dashboards.models import Dashboard, Widget
from tests.support.web import logged_in


@pytest.fixture
def widget(dashboard: Dashboard) -> Widget:
    return dashboard.widgets.get()


@pytest.fixture
def actors(owner: Any, shared_user: Any, outsider: Any, staff: Any) -> dict[str, Client]:
    """Return a browser per actor; the link holder and the anonymous visitor are not logged in."""
    return {
        "owner": logged_in(owner),
        "shared": logged_in(shared_user),
        "outsider": logged_in(outsider),
        "staff": logged_in(staff),
        "link_holder": Client(),
        "anonymous": Client(),
    }
