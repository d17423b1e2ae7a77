from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def store_blocks_as_they_are(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Blocks are compressed already: PostgreSQL keeps them out of line without trying again."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE streams_sampleblock ALTER COLUMN data SET STORAGE EXTERNAL"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("streams", "0005_access_versions"),
    ]

    operations = [
        migrations.CreateModel(
            name="SampleBlock",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("first_seq", models.BigIntegerField()),
                ("last_seq", models.BigIntegerField()),
                (
                    "first_t",
                    models.BigIntegerField(help_text="the lowest t in the block, UTC milliseconds"),
                ),
                (
                    "last_t",
                    models.BigIntegerField(
                        help_text="the highest t in the block, UTC milliseconds"
                    ),
                ),
                ("count", models.PositiveIntegerField()),
                ("size", models.PositiveIntegerField(help_text="bytes of data")),
                ("data", models.BinaryField()),
                (
                    "stream",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="blocks",
                        to="streams.stream",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["stream", "last_t"], name="block_stream_last_t")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("stream", "first_seq"), name="block_stream_first_seq"
                    )
                ],
            },
        ),
        migrations.RunPython(store_blocks_as_they_are, migrations.RunPython.noop),
    ]
