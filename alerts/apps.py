from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts.evaluation import alerts_evaluate, alerts_tick
        from alerts.sender import sender_on_clock
        from streams.history.stored import stored_listener_add
        from streams.producer.timers import timer_listener_add

        # Whichever process stores samples or runs a producer's clock moves the rules on,
        # and a process that runs a producer sends the notices (PULSEBOARD_ALERT_SENDER).
        stored_listener_add(alerts_evaluate)
        timer_listener_add(alerts_tick)
        timer_listener_add(sender_on_clock)
