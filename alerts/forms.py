"""Forms of alerting: a rule's settings and a contact point.

A rule's settings are declared once, by the model: `AlertRule`'s fields with
their defaults and choices, named by `RULE_SETTINGS`. `RuleSettingsForm` takes
its fields from there, and the alerts page's form and the admin's build on it;
a setting left out of a request keeps its default. Like the other forms they
turn text into types; the rules a rule must follow are the services'
(`rule_errors`), run here too so the page and the admin name the same problems.
"""

from __future__ import annotations

from typing import Any

from django import forms

from alerts.models import RULE_SETTINGS, AlertCondition, AlertRule, ContactKind, ContactPoint
from alerts.services import SECONDS, number_fields, rule_errors
from streams.models import Stream


class Seconds(forms.IntegerField):
    """Whole seconds; their range is the services' to check, which say it in words."""

    def __init__(
        self, *, min_value: int | None = None, max_value: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)


def setting_default(name: str) -> Any:
    """Return the model's default of a setting (None when it has none)."""
    field = AlertRule._meta.get_field(name)
    return field.get_default() if field.has_default() else None


class RuleSettingsForm(forms.ModelForm):
    """A rule's settings as the model declares them, checked by the services' rules."""

    class Meta:
        model = AlertRule
        fields = [*RULE_SETTINGS, "contacts"]
        field_classes = dict.fromkeys(SECONDS, Seconds)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Left out, a setting keeps its default: a client of an older form still works.
        for name in RULE_SETTINGS:
            if setting_default(name) is not None:
                self.fields[name].required = False
        condition = self.fields["condition"]
        if isinstance(condition, forms.ChoiceField):
            condition.choices = AlertCondition.choices  # no empty choice: a rule has a condition

    def rule_owner(self) -> Any:
        return self.instance.owner

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in RULE_SETTINGS:
            default = setting_default(name)
            if default is not None and data.get(name) in self.fields[name].empty_values:
                data[name] = default
        if not self.errors:
            candidate = AlertRule(owner=self.rule_owner(), **{n: data[n] for n in RULE_SETTINGS})
            for name, problem in rule_errors(candidate, list(data.get("contacts") or [])).items():
                self.add_error(name, problem)
        return data


class AlertRuleForm(RuleSettingsForm):
    """The alerts page's rule: a stream the user may watch (by slug), their own contact points."""

    stream = forms.ChoiceField()
    contacts = forms.MultipleChoiceField(required=False)

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
        if self.instance.pk is not None:
            self.initial["stream"] = self.instance.stream.slug
            self.initial["contacts"] = [
                str(pk) for pk in self.instance.contacts.values_list("pk", flat=True)
            ]

    def clean_stream(self) -> Stream:
        return self.streams[self.cleaned_data["stream"]]

    def clean_contacts(self) -> list[ContactPoint]:
        return [self.contact_points[key] for key in self.cleaned_data["contacts"]]

    def chosen_contacts(self) -> set[str]:
        return {str(value) for value in self["contacts"].value() or []}

    @property
    def chosen_stream(self) -> Stream | None:
        return self.streams.get(self["stream"].value() or "") or next(
            iter(self.streams.values()), None
        )

    def field_choices(self) -> list[dict[str, Any]]:
        stream = self.chosen_stream
        if stream is None:
            return []
        numeric = set(number_fields(stream))
        return [
            {"name": f["name"], "unit": f.get("unit", ""), "numeric": f["name"] in numeric}
            for f in stream.fields
        ]


class AlertRuleAdminForm(RuleSettingsForm):
    """The admin's rule: any owner and stream, checked by the same rules as the page's."""

    class Meta(RuleSettingsForm.Meta):
        fields = ["owner", *RULE_SETTINGS, "contacts"]

    def rule_owner(self) -> Any:
        return self.cleaned_data.get("owner")


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
