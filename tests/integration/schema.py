"""A small JSON Schema validator (Python's standard library only) for the
subset docs/json-schema.json uses: $ref (local), type, enum, pattern,
properties, required, additionalProperties, items, anyOf."""
import re

TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def resolve(root, s):
    while "$ref" in s:
        ref = s["$ref"]
        assert ref.startswith("#/"), ref
        s = root
        for part in ref[2:].split("/"):
            s = s[part]
    return s


def errors(root, s, v, path="$"):
    """every way v fails s, as "path: why" strings (empty: valid)"""
    s = resolve(root, s)
    if "anyOf" in s:
        best = None
        for alt in s["anyOf"]:
            e = errors(root, alt, v, path)
            if not e:
                return []
            # the alternative that got furthest is the one meant
            if best is None or max(len(x.split(":")[0]) for x in e) > max(len(x.split(":")[0]) for x in best):
                best = e
        return best
    out = []
    t = s.get("type")
    if t is not None and not TYPES[t](v):
        return [f"{path}: {type(v).__name__} {str(v)[:60]!r} is not {t}"]
    if "enum" in s and v not in s["enum"]:
        return [f"{path}: {v!r} is not one of {s['enum']}"]
    if "pattern" in s and isinstance(v, str) and not re.search(s["pattern"], v):
        return [f"{path}: {v!r} does not match {s['pattern']}"]
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                out.append(f"{path}: no member '{k}'")
        extra = s.get("additionalProperties", True)
        for k, x in v.items():
            if k in props:
                out += errors(root, props[k], x, f"{path}.{k}")
            elif extra is False:
                out.append(f"{path}: member '{k}' is not in the schema")
            elif isinstance(extra, dict):
                out += errors(root, extra, x, f"{path}.{k}")
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            out += errors(root, s["items"], x, f"{path}[{i}]")
            if len(out) > 20:
                break
    return out


def validate(root, name, doc):
    """raise AssertionError listing how doc fails #/$defs/name"""
    e = errors(root, {"$ref": "#/$defs/" + name}, doc)
    assert not e, f"{name}: " + "; ".join(e[:10])
