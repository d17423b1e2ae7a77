from __future__ import annotations

from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        from dashboards import signals  # noqa: F401
        from dashboards.access import DASHBOARD_GRANTS
        from dashboards.alerts import alerts_evaluate, alerts_tick
        from streams.access import access_grants_add
        from streams.history.stored import stored_listener_add
        from streams.producer.timers import timer_listener_add

        access_grants_add(DASHBOARD_GRANTS)
        stored_listener_add(alerts_evaluate)
        timer_listener_add(alerts_tick)
