#!/usr/bin/env python3
"""Derives the facts the conformance test checks from Discord's OpenAPI spec.

Usage: tools/spec_facts.py path/to/openapi.json [spec-repo] > tests/it/conformance/spec_facts.rs
       cargo fmt --all

For each response schema reachable from the roots below: its required fields, the
fields that are snowflakes (strings on the wire), and the schema of each object-valued
field (checked when present). Only these facts are kept, not the spec itself. Run it
again when Discord's spec changes and review the diff like any other change.
"""
import json
import subprocess
import sys

ROOTS = [
    "GatewayResponse", "GatewayBotResponse", "PrivateApplicationResponse",
    "UserPIIResponse", "UserResponse", "ApplicationCommandResponse",
    "GuildChannelResponse", "ThreadResponse", "CreatedThreadResponse",
    "MessageResponse", "ThreadMemberResponse", "GuildWithCountsResponse",
    "GuildRoleResponse", "GuildMemberResponse", "InteractionCallbackResponse",
    "CreateMessageInteractionCallbackResponse", "UpdateMessageInteractionCallbackResponse",
    "ErrorResponse", "RatelimitedResponse",
]

spec_path = sys.argv[1]
spec = json.load(open(spec_path))
schemas = spec["components"]["schemas"]


def is_object(name):
    s = schemas.get(name, {})
    return "properties" in s or "allOf" in s


def target(s):
    """(schema, is_array) of an object-valued property, or None."""
    if not isinstance(s, dict):
        return None
    if "$ref" in s:
        return (s["$ref"].split("/")[-1], False)
    for key in ("oneOf", "anyOf"):
        if key in s:
            found = [t for t in (target(x) for x in s[key] if x.get("type") != "null") if t]
            return found[0] if len(found) == 1 else None
    if "allOf" in s and len(s["allOf"]) == 1:
        return target(s["allOf"][0])
    t = s.get("type")
    if t == "array" or (isinstance(t, list) and "array" in t):
        inner = target(s.get("items", {}))
        if inner:
            return (inner[0], True)
    return None


def flatten(name):
    s = schemas[name]
    required = set(s.get("required", []))
    props = dict(s.get("properties", {}))
    for part in s.get("allOf", []):
        if "$ref" in part:
            r, p = flatten(part["$ref"].split("/")[-1])
            required |= r
            props.update(p)
        else:
            required |= set(part.get("required", []))
            props.update(part.get("properties", {}))
    return required, props


facts = {}


def visit(name):
    if name in facts or not is_object(name):
        return
    required, props = flatten(name)
    snowflakes, objects = [], []
    facts[name] = (sorted(required), snowflakes, objects)
    for field, s in sorted(props.items()):
        t = target(s)
        if not t:
            continue
        if t[0] == "SnowflakeType":
            snowflakes.append(field)
        elif is_object(t[0]):
            objects.append((field, t[0], t[1]))
            visit(t[0])


for root in ROOTS:
    visit(root)

try:
    commit = subprocess.run(
        ["git", "-C", sys.argv[2], "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip() if len(sys.argv) > 2 else "unknown"
except Exception:
    commit = "unknown"


def strs(xs):
    return "&[" + ", ".join(json.dumps(x) for x in xs) + "]"


print("//! Facts derived from Discord's OpenAPI spec (`discord/discord-api-spec`,")
print(f"//! `specs/openapi.json`, commit {commit}) by `tools/spec_facts.py`: per response")
print("//! schema, its required fields, its snowflake fields and its object-valued fields.")
print("//! Generated; regenerate rather than edit.")
print()
print("pub(crate) struct Schema {")
print("    pub name: &'static str,")
print("    pub required: &'static [&'static str],")
print("    pub snowflakes: &'static [&'static str],")
print("    /// (field, schema, is an array of it)")
print("    pub objects: &'static [(&'static str, &'static str, bool)],")
print("}")
print()
# A schema whose facts equal an earlier one's (MessageResponse and BasicMessageResponse,
# ThreadResponse and CreatedThreadResponse) is listed as an alias of it.
aliases, firsts = [], {}
for name, f in facts.items():
    key = json.dumps(f)
    if key in firsts:
        aliases.append((name, firsts[key]))
    else:
        firsts[key] = name

print("/// Schemas with the same facts as an earlier one: (alias, schema).")
print("pub(crate) const ALIASES: &[(&str, &str)] = &[")
for a, t in aliases:
    print(f"    ({json.dumps(a)}, {json.dumps(t)}),")
print("];")
print()
print("pub(crate) const SCHEMAS: &[Schema] = &[")
alias_names = {a for a, _ in aliases}
for name, (required, snowflakes, objects) in facts.items():
    if name in alias_names:
        continue
    objs = "&[" + ", ".join(f"({json.dumps(f)}, {json.dumps(t)}, {'true' if a else 'false'})" for f, t, a in objects) + "]"
    print("    Schema {")
    print(f"        name: {json.dumps(name)},")
    print(f"        required: {strs(required)},")
    print(f"        snowflakes: {strs(snowflakes)},")
    print(f"        objects: {objs},")
    print("    },")
print("];")
