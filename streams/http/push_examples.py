"""Copy-ready ways to feed a push stream: curl, Python and line protocol, for its page.

Each example is filled in with the stream's URL, a value of the right type for each
of its fields and the token given (a placeholder when none is), so what a user
copies works as it is.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from streams.models import field_type

TOKEN_PLACEHOLDER = "YOUR_TOKEN"


@dataclass(frozen=True)
class Example:
    key: str  # the element id's end, and what tests look for
    title: str
    text: str

    @property
    def rows(self) -> int:
        return self.text.count("\n") + 1


def example_values(fields: list[dict[str, Any]]) -> dict[str, float | str]:
    """Return a plausible value for each pushable field: a number, or text for a text field."""
    values: dict[str, float | str] = {}
    for item in fields:
        kind = field_type(item)
        if kind == "number":
            values[item["name"]] = 21.5
        elif kind == "text":
            values[item["name"]] = "ok"
    return values or {"value": 21.5}


def line_fields(values: dict[str, float | str]) -> str:
    """Return the values as a line protocol field set (keys and strings escaped)."""
    parts = []
    for name, value in values.items():
        key = name.replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")
        if isinstance(value, str):
            quoted = value.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{key}="{quoted}"')
        else:
            parts.append(f"{key}={value}")
    return ",".join(parts)


def push_examples(
    *, site: str, slug: str, fields: list[dict[str, Any]], token: str | None
) -> list[Example]:
    """Return the examples for pushing to `slug` on `site` (scheme and host, no slash after)."""
    token = token or TOKEN_PLACEHOLDER
    values = example_values(fields)
    samples_url = f"{site}/api/streams/{slug}/samples"
    body = json.dumps({"samples": [{"values": values}]}, ensure_ascii=False)
    curl = (
        f"curl -X POST {shlex.quote(samples_url)} \\\n"
        f"  -H 'Authorization: Token {token}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  --data {shlex.quote(body)}"
    )
    python = (
        "import json, time, urllib.request\n\n"
        f"URL = {samples_url!r}\n"
        f"TOKEN = {token!r}\n\n"
        "def push(values):\n"
        '    body = json.dumps({"samples": [{"values": values}]}).encode()\n'
        "    request = urllib.request.Request(URL, data=body, headers={\n"
        '        "Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})\n'
        "    with urllib.request.urlopen(request) as response:\n"
        "        return json.load(response)\n\n"
        "while True:\n"
        f"    print(push({values!r}))\n"
        "    time.sleep(1)"
    )
    write_url = f"{site}/api/v2/write?bucket={slug}&precision=ms"
    line = f"reading {line_fields(values)}"
    line_protocol = (
        f"curl -X POST {shlex.quote(write_url)} \\\n"
        f"  -H 'Authorization: Token {token}' \\\n"
        f"  --data-binary {shlex.quote(line)}"
    )
    return [
        Example("curl", "curl (JSON)", curl),
        Example("python", "Python (standard library only)", python),
        Example(
            "line-protocol", "InfluxDB line protocol (Telegraf, influxdb-client)", line_protocol
        ),
    ]
