"""History at rest: bytes per value and write/read rates of the block formats, on the demo's streams.

Runs the demo's sources on a past clock (no database) — the lab sensors (four
fields to 2 decimals), the 1 kHz sine (6 decimals), the anomaly detector (3
decimals and flags), the market (text, nested trades and books) — and cuts
their samples into blocks of --block samples. For each candidate it prints
bytes per value (sample × field), and the encode and decode rates in samples
a second, decode meaning back to Python samples as the reader hands them out:

- `rows (JSON)`: what one sample's `values` and `flags` text costs as a row
  today, before the row, its keys and the three indexes (the baseline);
- `parquet, plain floats`: Parquet + zstd, integers delta-packed, floats
  byte-stream-split;
- `parquet, decimal floats` (`streams/history/codec.py`, what blocks use):
  the same, with floats of few decimals kept as delta-packed integers;
- `arrow ipc + zstd`: Arrow's own file format, compressed buffers.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    banner,
    fmt,
    machine,
    table,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# slug, kind, settings, seconds of history: the demo's streams of each shape.
SHAPES: list[tuple[str, str, dict[str, Any], int]] = [
    ("sensors.lab-1", "sensor", {}, 6 * 3600),
    ("sine.1khz", "sine", {"frequency": 1.0, "amplitude": 1.0, "rate": 1000}, 300),
    ("anomaly.demo", "anomaly", {}, 6 * 3600),
    ("price.BTC-USD", "market", {"symbol": "BTC-USD"}, 3600),
]
START_MS = 1_765_000_000_000

Samples = list[tuple[int, int, dict[str, Any], Any]]


def shape_samples(kind: str, settings: dict[str, Any], seconds: int, slug: str) -> Samples:
    """Return a source's samples over `seconds` of a past clock, as the demo makes its history."""
    from streams.sources import source_create

    source = source_create(kind, settings, rng=random.Random(slug))
    source.next_t = float(START_MS)  # type: ignore[attr-defined]  # a clocked source
    samples: Samples = []
    for step_end in range(START_MS, START_MS + seconds * 1000 + 1, 1000):
        for reading in source.poll(step_end):
            samples.append((len(samples) + 1, reading.t, reading.values, tuple(reading.flags)))
    return samples


def rows_json(block: Samples) -> bytes:
    from streams.history.codec import json_text

    return "".join(json_text(v) + json_text(list(f)) for _, _, v, f in block).encode()


def parquet_plain(block: Samples) -> bytes:
    """The codec's layout with every float kept as float64 (byte-stream-split)."""
    import pyarrow as pa

    from streams.history import codec

    table_ = pa.table(
        {
            "seq": pa.array([s[0] for s in block], type=pa.int64()),
            "t": pa.array([s[1] for s in block], type=pa.int64()),
            **_plain_fields(block),
        }
    )
    return codec.parquet_bytes(table_)


def _plain_fields(block: Samples) -> dict[str, Any]:
    import pyarrow as pa

    from streams.history.codec import json_text

    names = list(dict.fromkeys(name for _, _, values, _ in block for name in values))
    columns: dict[str, Any] = {}
    for name in names:
        cells = [values.get(name) for _, _, values, _ in block]
        if all(isinstance(c, float) for c in cells):
            columns[name] = pa.array(cells, type=pa.float64())
        else:
            columns[name] = pa.array([json_text(c) for c in cells], type=pa.string())
    columns["flags"] = pa.array([list(f) or None for *_, f in block], type=pa.list_(pa.string()))
    return columns


def arrow_ipc(block: Samples) -> bytes:
    import pyarrow as pa

    table_ = pa.table(
        {
            "seq": pa.array([s[0] for s in block], type=pa.int64()),
            "t": pa.array([s[1] for s in block], type=pa.int64()),
            **_plain_fields(block),
        }
    )
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_file(sink, table_.schema, options=options) as writer:
        writer.write_table(table_)
    return sink.getvalue()


def decode_codec(data: bytes) -> int:
    from streams.history.codec import block_samples, block_table

    return len(block_samples(block_table(data)))


def decode_parquet(data: bytes) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return len(pq.read_table(pa.BufferReader(data)).to_pylist())


def decode_ipc(data: bytes) -> int:
    import pyarrow as pa

    return len(pa.ipc.open_file(pa.BufferReader(data)).read_all().to_pylist())


def decode_json(data: bytes) -> int:
    return len(data)  # rows are read by the database; not timed here


CANDIDATES: list[tuple[str, Callable[[Samples], bytes], Callable[[bytes], int]]] = [
    ("rows (JSON text only)", rows_json, decode_json),
    ("parquet, plain floats", parquet_plain, decode_parquet),
    ("parquet, decimal floats", lambda block: _codec_encode(block), decode_codec),
    ("arrow ipc + zstd", arrow_ipc, decode_ipc),
]


def _codec_encode(block: Samples) -> bytes:
    from streams.history.codec import block_encode

    return block_encode(block)


def formats(block_size: int) -> None:
    import django

    django.setup()
    banner(f"Block formats: blocks of {block_size:,} samples")
    rows = []
    for slug, kind, settings, seconds in SHAPES:
        samples = shape_samples(kind, settings, seconds, slug)
        fields = len({name for _, _, values, _ in samples for name in values})
        blocks = [samples[i : i + block_size] for i in range(0, len(samples), block_size)]
        for name, encode, decode in CANDIDATES:
            began = time.perf_counter()
            datas = [encode(block) for block in blocks]
            encoded = time.perf_counter() - began
            began = time.perf_counter()
            for data in datas:
                decode(data)
            decoded = time.perf_counter() - began
            size = sum(len(data) for data in datas)
            timed = decode is not decode_json
            rows.append(
                [
                    slug,
                    f"{len(samples):,} × {fields}",
                    name,
                    fmt(size / (len(samples) * fields), 2),
                    fmt(len(samples) / encoded / 1000, 0) if timed else "–",
                    fmt(len(samples) / decoded / 1000, 0) if timed else "–",
                ]
            )
    print(table(["stream", "samples × fields", "format", "B/value", "write k/s", "read k/s"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--block", type=int, default=65_536, help="samples a block")
    args = parser.parse_args()
    print(machine())
    formats(args.block)


if __name__ == "__main__":
    main()
