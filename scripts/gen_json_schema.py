#!/usr/bin/env python3
"""Writes docs/json/taskpool.schema.json, the JSON Schema of what
`taskpool --json` prints, from the .proto files under proto/.

Each record is the standard protobuf JSON mapping of a message (see
proto/taskpool/v1/cli_output.proto), printed with every field present and
the .proto field names, so the schema follows from the messages: one $defs
entry per message or enum, the descriptions taken from the .proto comments.
Rerun it after changing a message the CLI prints; tests/cli/json_schema_test
fails until the schema matches the compiled messages again.

  scripts/gen_json_schema.py            # rewrite the schema
  scripts/gen_json_schema.py --check    # exit 1 if it is out of date
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOS = ["taskpool.proto", "exec.proto", "cli_output.proto"]
OUT = ROOT / "docs" / "json" / "taskpool.schema.json"

# What each command prints with --json.
RECORDS = {
    "TaskRecord": "taskpool --json call, taskpool --json map: one per input",
    "ExecRecord": "taskpool --json exec, taskpool --json map --exec: one per job",
    "StatusReply": "taskpool --json status",
    "FunctionList": "taskpool --json functions",
    "PingRecord": "taskpool --json ping",
}

INTEGER_32 = {"int32", "uint32", "sint32", "fixed32", "sfixed32"}
INTEGER_64 = {"int64", "uint64", "sint64", "fixed64", "sfixed64"}


def parse(text):
    """Messages {name: (comment, [(label, type, name, comment)])} and enums
    {name: (comment, [value names])}, with the // comments above each."""
    messages, enums = {}, {}
    comment, stack = [], []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("//"):
            comment.append(line[2:].strip())
            continue
        if not line:
            comment = []
            continue
        opened = re.match(r"(message|enum)\s+(\w+)\s*\{", line)
        if opened:
            kind, name = opened.groups()
            target = messages if kind == "message" else enums
            target[name] = (" ".join(comment), [])
            stack.append((kind, name))
        elif re.match(r"oneof\s+\w+\s*\{", line):
            stack.append(("message", stack[-1][1]))  # its fields are the message's
        elif line.startswith("}"):
            stack.pop()
        elif stack and stack[-1][0] == "message":
            field = re.match(
                r"(repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*\d+\s*(?:\[[^\]]*\])?;\s*(//\s*(.*))?",
                line)
            if field:
                trailing = field.group(5) or ""
                messages[stack[-1][1]][1].append(
                    ("repeated" if field.group(1) else "", field.group(2), field.group(3),
                     " ".join(comment + ([trailing] if trailing else []))))
        elif stack and stack[-1][0] == "enum":
            value = re.match(r"(\w+)\s*=\s*\d+;", line)
            if value:
                enums[stack[-1][1]][1].append(value.group(1))
        comment = []
    return messages, enums


def field_schema(type_name, messages, enums):
    type_name = type_name.split(".")[-1]
    if type_name in INTEGER_32:
        return {"type": "integer"}
    if type_name in INTEGER_64:
        pattern = "^[0-9]+$" if type_name.startswith(("uint", "fixed")) else "^-?[0-9]+$"
        return {"type": "string", "pattern": pattern,
                "description": "a 64-bit integer, as a decimal string"}
    if type_name in ("double", "float"):
        return {"type": "number"}
    if type_name == "bool":
        return {"type": "boolean"}
    if type_name == "string":
        return {"type": "string"}
    if type_name == "bytes":
        return {"type": "string", "contentEncoding": "base64"}
    if type_name in messages or type_name in enums:
        return {"$ref": "#/$defs/" + type_name}
    raise SystemExit("unknown type " + type_name)


def reachable(roots, messages):
    seen, todo = [], list(roots)
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        seen.append(name)
        if name in messages:
            todo.extend(t.split(".")[-1] for _, t, _, _ in messages[name][1])
    return seen


def schema():
    messages, enums = {}, {}
    for proto in PROTOS:
        found_messages, found_enums = parse((ROOT / "proto/taskpool/v1" / proto).read_text())
        messages.update(found_messages)
        enums.update(found_enums)
    defs = {}
    for name in reachable(RECORDS, messages):
        if name in enums:
            comment, values = enums[name]
            defs[name] = {"description": comment, "enum": values}
            continue
        if name not in messages:
            continue
        comment, fields = messages[name]
        properties, required = {}, []
        for label, type_name, field, field_comment in fields:
            item = field_schema(type_name, messages, enums)
            is_message = type_name.split(".")[-1] in messages
            if label == "repeated":
                item = {"type": "array", "items": item}
            if field_comment:
                item = dict(item, description=field_comment) if "$ref" not in item else {
                    "description": field_comment, "allOf": [item]}
            properties[field] = item
            # Printed even when empty: all but singular message fields.
            if label == "repeated" or not is_message:
                required.append(field)
        entry = {"type": "object", "properties": properties, "required": required,
                 "additionalProperties": False}
        if comment:
            entry = {"description": comment, **entry}
        if name in RECORDS:
            entry = {"title": RECORDS[name], **entry}
        defs[name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "taskpool.schema.json",
        "title": "taskpool --json",
        "description": ("One JSON object per line, each the standard protobuf JSON mapping "
                        "of one message (proto/taskpool/v1/cli_output.proto, taskpool.proto): "
                        "field names as in the .proto, every field present, 64-bit integers "
                        "as decimal strings, bytes in base64, enums by name. Generated by "
                        "scripts/gen_json_schema.py."),
        "anyOf": [{"$ref": "#/$defs/" + name} for name in RECORDS],
        "$defs": defs,
    }


def main():
    text = json.dumps(schema(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date; run scripts/gen_json_schema.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
