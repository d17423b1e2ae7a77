"""Hypothesis strategies from the JSON Schemas of the AsyncAPI document's commands.

Only the keywords those schemas use: const, enum, type, properties/required,
anyOf, integer and number bounds, string pattern and maxLength, array items.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Return a strategy of values valid against `schema`."""
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([from_schema(branch) for branch in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "object":
        return objects(schema)
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=3)
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"].replace("$", r"\Z"), fullmatch=True)
        return st.text(max_size=schema.get("maxLength", 20))
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    return st.none() | st.integers() | st.text(max_size=10)


def objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    minimum = schema.get("minProperties", 0)
    fixed = st.fixed_dictionaries(
        {name: from_schema(properties[name]) for name in properties if name in required},
        optional={
            name: from_schema(properties[name]) for name in properties if name not in required
        },
    )
    if properties:
        return fixed
    # An object of any keys (e.g. a sample's values): numbers or short text.
    return st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.integers(-(2**53), 2**53)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=8),
        min_size=minimum,
        max_size=3,
    )
