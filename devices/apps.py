from __future__ import annotations

from django.apps import AppConfig


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        from devices.supervisor import bridges_run
        from streams.producer.companions import companion_add

        # Every producer (the worker, the embedded one) runs this process's MQTT
        # bridges beside it when PULSEBOARD_MQTT_BRIDGES is on.
        companion_add(bridges_run)
