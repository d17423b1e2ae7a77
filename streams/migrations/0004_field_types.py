"""Give every field of every stream a type: "number" unless its source writes text there."""

from __future__ import annotations

from typing import Any

from django.db import migrations

# Frozen here on purpose: a migration must not follow later edits of the sources.
# Fields a source writes as something other than a number, by source kind.
SOURCE_FIELD_TYPES: dict[str, dict[str, str]] = {
    "business": {"label": "text"},
    "market": {"trade": "trade", "book": "book"},
}


def _typed(fields: Any, known: dict[str, str]) -> Any:
    """Return `fields` with a type on every field that has none (unchanged if not a list)."""
    if not isinstance(fields, list):
        return fields
    out = []
    for field in fields:
        if isinstance(field, dict) and "type" not in field:
            field = {**field, "type": known.get(str(field.get("name")), "number")}
        out.append(field)
    return out


def add_types(apps: Any, schema_editor: Any) -> None:
    """Write a type into every field; a replay takes the types of the stream it replays."""
    Stream = apps.get_model("streams", "Stream")
    replays = []
    for stream in Stream.objects.all():
        if stream.source_kind == "replay":
            replays.append(stream)
            continue
        typed = _typed(stream.fields, SOURCE_FIELD_TYPES.get(stream.source_kind, {}))
        if typed != stream.fields:
            stream.fields = typed
            stream.save(update_fields=["fields"])
    for stream in replays:
        settings = stream.source_settings if isinstance(stream.source_settings, dict) else {}
        source = Stream.objects.filter(slug=str(settings.get("source", ""))).first()
        known: dict[str, str] = {}
        if source is not None and isinstance(source.fields, list):
            known = {
                str(f.get("name")): str(f["type"])
                for f in source.fields
                if isinstance(f, dict) and "type" in f
            }
        typed = _typed(stream.fields, known)
        if typed != stream.fields:
            stream.fields = typed
            stream.save(update_fields=["fields"])


def drop_number_types(apps: Any, schema_editor: Any) -> None:
    """Remove the "number" types again; before this migration a field without one was a number."""
    Stream = apps.get_model("streams", "Stream")
    for stream in Stream.objects.all():
        if not isinstance(stream.fields, list):
            continue
        untyped = [
            {k: v for k, v in f.items() if k != "type"}
            if isinstance(f, dict) and f.get("type") == "number"
            else f
            for f in stream.fields
        ]
        if untyped != stream.fields:
            stream.fields = untyped
            stream.save(update_fields=["fields"])


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0003_slug_end"),
    ]

    operations = [
        migrations.RunPython(add_types, drop_number_types),
    ]
