"""Forms of the broker pages: a broker's address and settings, a route from a topic to a stream."""

from __future__ import annotations

from typing import Any

from django import forms

from devices.bridge import BrokerAddressError, broker_address
from devices.models import Broker, PayloadFormat, Route
from streams.models import SourceKind, Stream, field_type
from streams.netguard import address_allowed

REFUSED_ADDRESS = {
    "private_address": (
        "That address is inside this server's network; only the networks an operator "
        "allows (PULSEBOARD_WEBHOOK_ALLOWED_NETWORKS) may be reached."
    ),
    "unresolved": "That host name does not resolve here.",
}


def topic_filter_problem(topic: str) -> str:
    """Return what is wrong with an MQTT topic filter ("" when nothing is)."""
    if not topic:
        return "Give a topic, such as home/kitchen/temperature or home/+/temperature."
    if "\0" in topic or len(topic.encode()) > 300:
        return "A topic has at most 300 bytes and no NUL character."
    levels = topic.split("/")
    for index, level in enumerate(levels):
        if "#" in level and (level != "#" or index != len(levels) - 1):
            return "# stands alone as the last level (home/#)."
        if "+" in level and level != "+":
            return "+ stands alone for one whole level (home/+/temperature)."
    return ""


def styled(form: forms.BaseForm) -> None:
    """Give each widget the site's input class (checkboxes keep their own look)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs["class"] = "select"
        elif not isinstance(widget, forms.CheckboxInput):
            widget.attrs["class"] = "input"


class BrokerForm(forms.ModelForm):
    password = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text="Left empty, an existing broker keeps its password.",
    )

    class Meta:
        model = Broker
        fields = [
            "name",
            "url",
            "username",
            "password",
            "payload_format",
            "ha_discovery",
            "ha_prefix",
            "enabled",
        ]
        labels = {
            "url": "Address",
            "username": "User name",
            "payload_format": "Payload format",
            "ha_discovery": "Home Assistant discovery",
            "ha_prefix": "Discovery prefix",
            "enabled": "Connected (a bridge subscribes)",
        }
        help_texts = {
            "url": "mqtt://host:1883 — the broker this server connects to.",
            "ha_discovery": (
                "Sensors announced on <prefix>/sensor/…/config become streams of yours "
                "(within your stream limit), fed by their state topics."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        payload_format = self.fields["payload_format"]
        if isinstance(payload_format, forms.ChoiceField):
            payload_format.choices = PayloadFormat.choices
        styled(self)

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"]).strip()
        try:
            host, port = broker_address(url)
        except BrokerAddressError as error:
            raise forms.ValidationError(str(error)) from None
        verdict = address_allowed(host, port)
        if not verdict.allowed:
            raise forms.ValidationError(REFUSED_ADDRESS[verdict.code], code=verdict.code)
        return url

    def clean_password(self) -> str:
        password = str(self.cleaned_data.get("password") or "")
        # An empty password field keeps the one stored: it is never sent back to the page.
        return password or (self.instance.password if self.instance.pk else "")


class RouteForm(forms.Form):
    topic = forms.CharField(max_length=300, help_text="An MQTT topic filter; + and # match levels.")
    stream = forms.ChoiceField(help_text="One of your push streams.")
    field = forms.CharField(
        max_length=80,
        initial="value",
        help_text="Where a bare number goes (JSON objects name their fields).",
    )

    def __init__(self, *args: Any, broker: Broker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.broker = broker
        self.streams = {
            stream.slug: stream
            for stream in Stream.objects.filter(owner=broker.owner, source_kind=SourceKind.PUSH)
        }
        stream_field = self.fields["stream"]
        assert isinstance(stream_field, forms.ChoiceField)
        stream_field.choices = [(slug, f"{s.title} ({slug})") for slug, s in self.streams.items()]
        styled(self)

    def clean_topic(self) -> str:
        topic = str(self.cleaned_data["topic"]).strip()
        problem = topic_filter_problem(topic)
        if problem:
            raise forms.ValidationError(problem)
        if Route.objects.filter(broker=self.broker, topic=topic).exists():
            raise forms.ValidationError("This broker has a route for that topic already.")
        return topic

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stream = self.streams.get(str(data.get("stream") or ""))
        name = str(data.get("field") or "").strip()
        if stream is not None and name:
            kinds = {item["name"]: field_type(item) for item in stream.fields}
            if kinds and name not in kinds:
                self.add_error("field", f"{stream.slug} has no field {name!r}: {', '.join(kinds)}.")
        data["stream_object"] = stream
        return data
