"""Existing history older than the hot tail moves from rows into blocks; reversible.

Forwards it runs what `manage.py compact --wait` does, a block per transaction
(the migration is not atomic, so a stopped migrate keeps what it moved and the
next one goes on). Backwards every block becomes rows again, one block per
transaction, so the rows-only release before it reads all history.
"""

from __future__ import annotations

from django.db import connection, migrations, transaction
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from tqdm import tqdm

from streams.history.codec import block_samples, block_table, json_text

INSERT_SQL = (
    'INSERT INTO streams_sample (stream_id, seq, t, "values", flags) VALUES (%s, %s, %s, %s, %s)'
)


def rows_into_blocks(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from streams.clock import now_ms
    from streams.history.compaction import Cutoffs, compactable, stream_compact

    cutoffs = Cutoffs.at(now_ms())
    cutoffs = Cutoffs(hot=cutoffs.hot, partial=cutoffs.hot)
    stream_ids = list(apps.get_model("streams", "Stream").objects.values_list("pk", flat=True))
    total = sum(compactable(pk, cutoffs) for pk in stream_ids)
    if not total:
        return
    with tqdm(total=total, unit="sample", unit_scale=True, desc="Rows into blocks") as bar:
        for pk in stream_ids:
            stream_compact(pk, cutoffs, progress=bar.update)


def blocks_into_rows(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, stream_id, count FROM streams_sampleblock ORDER BY id")
        blocks = cursor.fetchall()
    with tqdm(total=sum(b[2] for b in blocks), unit="sample", desc="Blocks into rows") as bar:
        for block_id, stream_id, count in blocks:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT data FROM streams_sampleblock WHERE id = %s", [block_id])
                samples = block_samples(block_table(bytes(cursor.fetchone()[0])))
                cursor.executemany(
                    INSERT_SQL,
                    [
                        (stream_id, seq, t, json_text(values), json_text(list(flags)))
                        for seq, t, values, flags in samples
                    ],
                )
                cursor.execute("DELETE FROM streams_sampleblock WHERE id = %s", [block_id])
            bar.update(count)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("streams", "0006_blocks")]

    operations = [migrations.RunPython(rows_into_blocks, blocks_into_rows, elidable=True)]
