from __future__ import annotations

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from alerts.notices import notice_page_finder_add
        from dashboards import signals  # noqa: F401
        from dashboards.access import DASHBOARD_GRANTS
        from dashboards.selectors import board_showing
        from streams.access import access_grants_add

        access_grants_add(DASHBOARD_GRANTS)
        # Alert notices link to the owner's first dashboard that shows the rule's stream.
        notice_page_finder_add(board_showing)
