"""Sample rows keep their values and flags as the JSON text written; reversible.

On PostgreSQL the columns become `json` (text kept as written) instead of
`jsonb` (numbers kept as `numeric`: -0.0 read back as 0, 1e300 as an integer).
Values stored before keep what jsonb made of them. SQLite stores text already:
nothing changes there.
"""

from __future__ import annotations

from django.db import migrations

import streams.models


class Migration(migrations.Migration):
    dependencies = [("streams", "0007_rows_into_blocks")]

    operations = [
        migrations.AlterField(
            model_name="sample",
            name="flags",
            field=streams.models.ExactJSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="sample",
            name="values",
            field=streams.models.ExactJSONField(default=dict),
        ),
    ]
