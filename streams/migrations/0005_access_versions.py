from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("streams", "0004_field_types")]

    operations = [
        migrations.CreateModel(
            name="AccessVersion",
            fields=[
                ("key", models.CharField(max_length=120, primary_key=True, serialize=False)),
                ("version", models.BigIntegerField(default=1)),
                ("changed_at", models.DateTimeField(db_index=True)),
            ],
        ),
    ]
