"""Forms of alerting: alert rules and contact points.

Like the other forms, they only turn text into types; the rules a rule or a
contact must follow are in the services, which name the field of each problem.
"""

from __future__ import annotations

from typing import Any

from django import forms

from dashboards.models import AlertCondition, ContactKind, ContactPoint, StopChoice
from dashboards.widgets import numeric_fields
from streams.models import Stream


class AlertRuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    stream = forms.ChoiceField()
    field = forms.CharField(max_length=80)
    condition = forms.ChoiceField(choices=AlertCondition.choices)
    threshold = forms.FloatField(required=False)
    duration_seconds = forms.IntegerField(initial=0, label="Duration")
    # Left out, these keep their defaults: a client of the first form still works.
    no_data_seconds = forms.IntegerField(required=False, initial=0)
    on_stop = forms.ChoiceField(choices=StopChoice.choices, required=False)
    min_interval_seconds = forms.IntegerField(required=False, initial=300)
    contacts = forms.MultipleChoiceField(required=False)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        streams: list[Stream],
        contacts: list[ContactPoint] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.streams = {stream.slug: stream for stream in streams}
        self.fields["stream"].choices = [(s.slug, f"{s.title} ({s.slug})") for s in streams]
        self.contact_points = {str(contact.pk): contact for contact in contacts or []}
        self.fields["contacts"].choices = [
            (key, contact.name) for key, contact in self.contact_points.items()
        ]

    def rule_settings(self) -> dict[str, Any]:
        """Return the valid form's settings as `alert_rule_save` takes them."""
        data = self.cleaned_data
        return {
            "no_data_seconds": data["no_data_seconds"] or 0,
            "on_stop": data["on_stop"] or StopChoice.NODATA,
            "min_interval_seconds": (
                300 if data["min_interval_seconds"] is None else data["min_interval_seconds"]
            ),
            "contacts": [self.contact_points[key] for key in data["contacts"]],
        }

    def chosen_contacts(self) -> set[str]:
        return {str(value) for value in self["contacts"].value() or []}

    @classmethod
    def for_rule(
        cls, rule: Any, *, streams: list[Stream], contacts: list[ContactPoint]
    ) -> AlertRuleForm:
        initial = {
            "name": rule.name,
            "stream": rule.stream.slug,
            "field": rule.field,
            "condition": rule.condition,
            "threshold": rule.threshold,
            "duration_seconds": rule.duration_seconds,
            "no_data_seconds": rule.no_data_seconds,
            "on_stop": rule.on_stop,
            "min_interval_seconds": rule.min_interval_seconds,
            "contacts": [str(pk) for pk in rule.contacts.values_list("pk", flat=True)],
            "enabled": rule.enabled,
        }
        return cls(initial=initial, streams=streams, contacts=contacts)

    @property
    def chosen_stream(self) -> Stream | None:
        return self.streams.get(self["stream"].value() or "") or next(
            iter(self.streams.values()), None
        )

    def field_choices(self) -> list[dict[str, Any]]:
        stream = self.chosen_stream
        if stream is None:
            return []
        numeric = set(numeric_fields(stream))
        return [
            {"name": f["name"], "unit": f.get("unit", ""), "numeric": f["name"] in numeric}
            for f in stream.fields
        ]


class ContactPointForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=ContactKind.choices)
    url = forms.CharField(max_length=500, required=False)
    email = forms.CharField(max_length=254, required=False)
    enabled = forms.BooleanField(required=False, initial=True)

    @classmethod
    def for_contact(cls, contact: ContactPoint) -> ContactPointForm:
        initial = {
            "name": contact.name,
            "kind": contact.kind,
            "url": contact.url,
            "email": contact.email,
            "enabled": contact.enabled,
        }
        return cls(initial=initial)
