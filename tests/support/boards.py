"""What a dashboard is, in one comparable value: a refused request must leave it as it was."""

from __future__ import annotations

from typing import Any

from alerts.models import AlertRule
from dashboards.models import Dashboard


def snapshot(dashboard: Dashboard) -> dict[str, Any]:
    """Return everything about a dashboard that a refused request must leave as it was."""
    fresh = Dashboard.objects.filter(pk=dashboard.pk).first()
    if fresh is None:
        return {"deleted": True}
    return {
        "title": fresh.title,
        "position": fresh.position,
        "link": fresh.link_token,
        "shares": sorted(fresh.shares.values_list("user__username", flat=True)),
        "widgets": sorted(
            fresh.widgets.values_list("id", "kind", "title", "stream_id", "x", "y", "w", "h")
        ),
        "configs": [w.config for w in fresh.widgets.order_by("id")],
        "dashboards": Dashboard.objects.count(),
        "rules": sorted(AlertRule.objects.values_list("id", "name", "threshold", "enabled")),
    }
