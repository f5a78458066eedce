#!/usr/bin/env python3
"""A small, independent JSON Schema (draft 2020-12) checker for tests: validates a file
against a schema using only the keywords Loupe's schemas use, and refuses a schema that uses
any other keyword (so a keyword can never be silently ignored). Usage:
    validate_review.py SCHEMA FILE      exit 0 valid, 1 invalid (errors on stderr), 2 usage
Duplicate object keys in FILE are an error too."""
import json
import re
import sys

ANNOTATIONS = {"$schema", "$id", "title", "description", "$comment", "$defs"}
KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum",
            "const", "minimum", "maximum", "pattern", "minLength", "oneOf", "anyOf", "not",
            "$ref"}


class SchemaError(Exception):
    pass


def no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate key {k!r}")
        seen[k] = v
    return seen


def is_type(v, t):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or \
            (isinstance(v, float) and v.is_integer())
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise SchemaError(f"unknown type {t!r}")


def json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if is_type(a, "number") and is_type(b, "number"):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


class Validator:
    def __init__(self, root):
        self.root = root

    def resolve(self, ref):
        if not ref.startswith("#/"):
            raise SchemaError(f"only local $ref is supported: {ref!r}")
        node = self.root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise SchemaError(f"unresolvable $ref {ref!r}")
            node = node[part]
        return node

    def errors(self, v, s, path):
        """Yields 'path: problem' for every way v breaks schema s."""
        if s is True:
            return
        if s is False:
            yield f"{path}: not allowed here"
            return
        if not isinstance(s, dict):
            raise SchemaError(f"schema at {path} is not an object")
        unknown = set(s) - KEYWORDS - ANNOTATIONS
        if unknown:
            raise SchemaError(f"unsupported keyword(s) {sorted(unknown)} (at {path})")
        if "$ref" in s:
            yield from self.errors(v, self.resolve(s["$ref"]), path)
        if "type" in s:
            types = s["type"] if isinstance(s["type"], list) else [s["type"]]
            if not any(is_type(v, t) for t in types):
                yield f"{path}: {json.dumps(v)[:60]} is not of type {types}"
                return
        if "const" in s and not json_equal(v, s["const"]):
            yield f"{path}: must be {json.dumps(s['const'])}"
        if "enum" in s and not any(json_equal(v, e) for e in s["enum"]):
            yield f"{path}: {json.dumps(v)[:60]} is not one of {s['enum']}"
        if is_type(v, "number"):
            if "minimum" in s and v < s["minimum"]:
                yield f"{path}: {v} is below the minimum {s['minimum']}"
            if "maximum" in s and v > s["maximum"]:
                yield f"{path}: {v} is above the maximum {s['maximum']}"
        if isinstance(v, str):
            if "pattern" in s and not re.search(s["pattern"], v):
                yield f"{path}: {v[:60]!r} does not match {s['pattern']}"
            if "minLength" in s and len(v) < s["minLength"]:
                yield f"{path}: shorter than {s['minLength']}"
        if isinstance(v, dict):
            props = s.get("properties", {})
            for k in s.get("required", []):
                if k not in v:
                    yield f"{path}: missing required key {k!r}"
            for k, item in v.items():
                if k in props:
                    yield from self.errors(item, props[k], f"{path}.{k}")
                elif "additionalProperties" in s:
                    ap = s["additionalProperties"]
                    if ap is False:
                        yield f"{path}: unexpected key {k!r}"
                    else:
                        yield from self.errors(item, ap, f"{path}.{k}")
        if isinstance(v, list) and "items" in s:
            for i, item in enumerate(v):
                yield from self.errors(item, s["items"], f"{path}[{i}]")
        if "anyOf" in s:
            if not any(self.valid(v, sub, path) for sub in s["anyOf"]):
                yield f"{path}: matches none of anyOf"
        if "oneOf" in s:
            n = sum(1 for sub in s["oneOf"] if self.valid(v, sub, path))
            if n != 1:
                yield f"{path}: matches {n} of oneOf (exactly 1 needed)"
        if "not" in s and self.valid(v, s["not"], path):
            yield f"{path}: matches a schema it must not"

    def valid(self, v, s, path):
        for _ in self.errors(v, s, path):
            return False
        return True


def main(argv):
    if len(argv) != 3:
        print("usage: validate_review.py SCHEMA FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f, object_pairs_hook=no_duplicates)
        with open(argv[2], encoding="utf-8") as f:
            doc = json.load(f, object_pairs_hook=no_duplicates)
    except (OSError, ValueError) as e:
        print(f"{argv[2]}: {e}", file=sys.stderr)
        return 1
    try:
        problems = list(Validator(schema).errors(doc, schema, "$"))
    except SchemaError as e:
        print(f"{argv[1]}: {e}", file=sys.stderr)
        return 2
    for p in problems[:20]:
        print(f"{argv[2]}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
