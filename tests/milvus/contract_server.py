#!/usr/bin/python3
"""contract_server.py - a stand-in for Milvus's REST API v2, for tests.

No Milvus can run where embedlab's tests run, so this server plays one, and
is strict where Milvus is lenient: every request body is checked against the
documented field names and types (a field the reference does not list, a
wrong type or a missing required field is a *contract violation*: recorded,
and answered as Milvus answers a bad parameter), every filter expression is
parsed with the documented grammar (an expression it cannot parse is a
violation too), entities live in memory, and searches are exact.  It also
injects faults on request: HTTP 5xx, slow answers, dropped connections,
malformed or hostile JSON, Milvus error codes.

Python standard library only; it listens on 127.0.0.1 only, on a free port
the operating system picks, written to --port-file; with --tls CERT KEY it
speaks https.  It exits after
--idle-timeout seconds without a request, so a test that dies leaves nothing.

What it follows (the pages read; v2.4.x is the REST v2 reference version the
client targets, v2.3.x+ servers speak the same /v2/vectordb paths):
  https://milvus.io/api-reference/restful/v2.4.x/v2/Collection%20(v2)/Create.md
      body: dbName, collectionName*, dimension, metricType, idType, autoID,
      primaryFieldName, vectorFieldName, schema{autoID, enableDynamicField,
      fields[{fieldName, dataType, elementDataType, isPrimary, isPartitionKey,
      elementTypeParams{max_length, dim, max_capacity}}]}, indexParams[...],
      params{max_length, enableDynamicField, shardsNum, consistencyLevel,
      partitionsNum, ttlSeconds}; answer {"code": 0, "data": {}}.  The
      examples write elementTypeParams values as strings ("dim": "5"), the
      table says integer: both are accepted.
  .../Collection%20(v2)/Describe.md      dbName, collectionName*; answer data
      {collectionName, fields[{name, type, primaryKey, autoId, params[{key,
      value}]}], indexes[{fieldName, indexName, metricType}], load, shardsNum,
      ...}
  .../Collection%20(v2)/Load.md, Drop.md: dbName, collectionName*
  .../Collection%20(v2)/Get%20Load%20State.md: dbName, collectionName*,
      partitionNames; answer data {loadState, loadProgress}
  .../Vector%20(v2)/Insert.md, Upsert.md: dbName, collectionName*, data*,
      partitionName; answer data {insertCount|upsertCount, insertIds|upsertIds}.
      The Insert page says at most 100 entities per request: enforced
      (--max-rows changes it).
  .../Vector%20(v2)/Delete.md: dbName, collectionName*, filter*, partitionName
  .../Vector%20(v2)/Search.md: dbName, collectionName*, data*, annsField*,
      filter, limit, offset, groupingField, outputFields, searchParams
      {metricType, params{...}}, partitionNames; limit + offset < 16384;
      answer data [{<pk>, distance, <outputFields>}] best first
  .../Vector%20(v2)/Query.md: dbName, collectionName*, filter*, outputFields,
      partitionNames (and limit, offset as in its example); answer data [{...}]
  .../Index%20(v2)/Create.md: dbName, collectionName*, indexParams[{metricType,
      fieldName*, indexName, params{index_type, M, efConstruction, nlist}}]
  .../Index%20(v2)/Describe.md: dbName, collectionName*, indexName*; answer
      data [{fieldName, indexName, indexType, metricType, indexState,
      indexedRows, pendingRows, totalRows, failReason}]
  https://milvus.io/docs/boolean.md and https://milvus.io/docs/basic-operators.md
      filter grammar: == != < > <= >=, in / not in [..], like with % and _,
      and/or/not (also && || !), parentheses, JSON keys as field["key"],
      string literals in double or single quotes with backslash escapes
  https://milvus.io/docs/metric.md: L2 answers the squared distance (smaller
      is nearer), IP the inner product, COSINE the cosine (larger is nearer)
  Error codes are Milvus's (pkg/util/merr/errors.go in the Milvus source):
      100 collection not found, 101 collection not loaded, 700 index not
      found, 1100 invalid parameter, 1800 user hasn't authenticated.

Test control (not Milvus): POST /contract/faults {"faults": [{"path": "...",
"kind": "...", ...}]} queues faults, POST /contract/clear drops them; GET
/contract/stats answers the violations, requests per path, connections
accepted, rows per collection, the last search's parameters and how many
searches each parameter set had ("nprobe=32": N), GET
/contract/value/KEY[.KEY] one of those as text; POST
/contract/collection makes a collection with any schema (to build a
mismatched one).  GET /metrics answers as a query node's Prometheus
endpoint (see metrics_text), with faults on the path "metrics".  Fault kinds: status (HTTP status, default 503), slow
(delay_ms, then the normal answer), drop (close without answering),
drop_after (do the work, then close without answering), malformed (HTTP 200,
cut JSON), hostile (HTTP 200, well-formed JSON with wrong types and absurd
values), code (HTTP 200 {"code": N, "message": M}).  Each fault fires `times`
times (default 1) after `skip` matching requests (default 0); "path" is a
/v2/vectordb/ suffix or "*".
"""
import argparse
import json
import math
import operator
import os
import re
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_TOPK = 16384

# ---- request schemas --------------------------------------------------------
# A schema is {field: (types, required)}; nested dicts/lists are checked by
# the handlers.  "int" excludes bool (JSON true is not a number).

STR, INT, BOOL, NUM, LIST, OBJ, INTSTR, BOOLSTR = (
    "string", "integer", "boolean", "number", "array", "object", "integer|string",
    "boolean|string")

REQUESTS = {
    "collections/create": {
        "dbName": (STR, False), "collectionName": (STR, True), "dimension": (INT, False),
        "metricType": (STR, False), "idType": (STR, False), "autoID": (BOOLSTR, False),
        "primaryFieldName": (STR, False), "vectorFieldName": (STR, False),
        "schema": (OBJ, False), "indexParams": (LIST, False), "params": (OBJ, False),
        "description": (STR, False)},
    "collections/describe": {"dbName": (STR, False), "collectionName": (STR, True)},
    "collections/load": {"dbName": (STR, False), "collectionName": (STR, True)},
    "collections/drop": {"dbName": (STR, False), "collectionName": (STR, True)},
    "collections/get_load_state": {"dbName": (STR, False), "collectionName": (STR, True),
                                   "partitionNames": (LIST, False)},
    "entities/insert": {"dbName": (STR, False), "collectionName": (STR, True),
                        "data": (LIST, True), "partitionName": (STR, False)},
    "entities/upsert": {"dbName": (STR, False), "collectionName": (STR, True),
                        "data": (LIST, True), "partitionName": (STR, False)},
    "entities/delete": {"dbName": (STR, False), "collectionName": (STR, True),
                        "filter": (STR, True), "partitionName": (STR, False)},
    "entities/search": {
        "dbName": (STR, False), "collectionName": (STR, True), "data": (LIST, True),
        "annsField": (STR, True), "filter": (STR, False), "limit": (INT, False),
        "offset": (INT, False), "groupingField": (STR, False), "outputFields": (LIST, False),
        "searchParams": (OBJ, False), "partitionNames": (LIST, False)},
    "entities/query": {
        "dbName": (STR, False), "collectionName": (STR, True), "filter": (STR, True),
        "outputFields": (LIST, False), "partitionNames": (LIST, False),
        "limit": (INT, False), "offset": (INT, False)},
    "indexes/create": {"dbName": (STR, False), "collectionName": (STR, True),
                       "indexParams": (LIST, True)},
    "indexes/describe": {"dbName": (STR, False), "collectionName": (STR, True),
                         "indexName": (STR, True)},
}

FIELD_SCHEMA = {"fieldName": (STR, True), "dataType": (STR, True),
                "elementDataType": (STR, False), "isPrimary": (BOOL, False),
                "isPartitionKey": (BOOL, False), "elementTypeParams": (OBJ, False)}
SCHEMA = {"autoID": (BOOLSTR, False), "enableDynamicField": (BOOLSTR, False),
          "fields": (LIST, True)}
TYPE_PARAMS = {"max_length": (INTSTR, False), "dim": (INTSTR, False),
               "max_capacity": (INTSTR, False)}
CREATE_PARAMS = {"max_length": (INTSTR, False), "enableDynamicField": (BOOLSTR, False),
                 "shardsNum": (INTSTR, False), "consistencyLevel": (STR, False),
                 "partitionsNum": (INTSTR, False), "ttlSeconds": (INTSTR, False)}
INDEX_PARAM = {"metricType": (STR, False), "fieldName": (STR, True), "indexName": (STR, False),
               "params": (OBJ, False)}
INDEX_PARAMS = {"index_type": (STR, True), "M": (INTSTR, False),
                "efConstruction": (INTSTR, False), "nlist": (INTSTR, False)}
SEARCH_PARAMS = {"metricType": (STR, False), "params": (OBJ, False)}
SEARCH_INNER = {"radius": (NUM, False), "range_filter": (NUM, False), "nprobe": (INT, False),
                "ef": (INT, False)}

DATA_TYPES = {"Bool", "Int8", "Int16", "Int32", "Int64", "Float", "Double", "VarChar",
              "JSON", "Array", "FloatVector", "BinaryVector", "Float16Vector",
              "BFloat16Vector", "SparseFloatVector"}
INDEX_TYPES = {"FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW", "DISKANN", "AUTOINDEX",
               "SCANN", "STL_SORT", "INVERTED", "Trie"}
METRICS = {"L2", "IP", "COSINE"}
CONSISTENCY = {"Strong", "Session", "Bounded", "Eventually", "Customized"}


class Violation(Exception):
    """A request that does not follow the documented contract."""


class MilvusError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def is_type(v, t):
    if t == STR:
        return isinstance(v, str)
    if t == INT:
        return isinstance(v, int) and not isinstance(v, bool)
    if t == BOOL:
        return isinstance(v, bool)
    if t == NUM:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == LIST:
        return isinstance(v, list)
    if t == OBJ:
        return isinstance(v, dict)
    if t == INTSTR:
        return (is_type(v, INT)) or (isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v))
    if t == BOOLSTR:
        return isinstance(v, bool) or v in ("true", "false", "True", "False")
    raise AssertionError(t)


def check(obj, schema, where):
    if not isinstance(obj, dict):
        raise Violation(f"{where}: expected a JSON object")
    for k, v in obj.items():
        if k not in schema:
            raise Violation(f"{where}: field {k!r} is not in the documented body")
        t, _ = schema[k]
        if not is_type(v, t):
            raise Violation(f"{where}.{k}: expected {t}, got {type(v).__name__}")
    for k, (_, req) in schema.items():
        if req and k not in obj:
            raise Violation(f"{where}: required field {k!r} missing")


# ---- filter expressions ---------------------------------------------------
# A recursive-descent parser for the part of Milvus's grammar (Plan.g4,
# boolean.md) a client uses for filters; anything else is a parse error.

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\\n\r]|\\.)*"|'(?:[^'\\\n\r]|\\.)*')
  | (?P<num>-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\],])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.X)

GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", "'": "'", '"': '"'}


def unquote(lit):
    """A string literal's value, with Go's escapes (Milvus unquotes with
    strconv.Unquote): \\a\\b\\f\\n\\r\\t\\v \\\\ \\' \\" \\xHH \\uHHHH \\UHHHHHHHH \\ooo."""
    body, out, i = lit[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError("a string ends in a backslash")
        n = body[i + 1]
        if n in GO_ESCAPES:
            out.append(GO_ESCAPES[n])
            i += 2
        elif n == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", body[i + 2:i + 4]):
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
        elif n == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        elif n == "U" and re.fullmatch(r"[0-9a-fA-F]{8}", body[i + 2:i + 10]):
            out.append(chr(int(body[i + 2:i + 10], 16)))
            i += 10
        elif re.fullmatch(r"[0-7]{3}", body[i + 1:i + 4]):
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            raise ValueError(f"unknown escape \\{n} in a string literal")
    return "".join(out)


def tokenize(s):
    toks, i = [], 0
    while i < len(s):
        m = TOKEN.match(s, i)
        if not m:
            raise ValueError(f"cannot read the expression at {s[i:i + 20]!r}")
        i = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        text = m.group(kind)
        if kind == "ident":
            low = text.lower()
            if low in ("and", "or", "not", "in", "like", "true", "false"):
                if low in ("true", "false") and text not in ("true", "True", "TRUE", "false",
                                                             "False", "FALSE"):
                    raise ValueError(f"{text}: not a boolean constant")
                if low not in ("true", "false") and text not in (low, low.upper()):
                    raise ValueError(f"{text}: keywords are lower or upper case")
                kind, text = "kw", low
        toks.append((kind, text))
    return toks


class Parser:
    """expr := or ; or := and (('or'|'||') and)* ; and := unary (('and'|'&&') unary)* ;
    unary := ('not'|'!') unary | cmp ; cmp := operand [op operand | 'not'? 'in' list |
    'like' string] ; operand := literal | field | field[string] | '(' or ')'"""

    def __init__(self, text):
        self.t = tokenize(text)
        self.i = 0

    def peek(self, k=0):
        return self.t[self.i + k] if self.i + k < len(self.t) else (None, None)

    def take(self, kind=None, text=None):
        k, v = self.peek()
        if k is None or (kind and k != kind) or (text is not None and v != text):
            raise ValueError(f"expected {text or kind}, found {v!r}")
        self.i += 1
        return v

    def parse(self):
        if not self.t:
            return ("true",)
        e = self.or_()
        if self.i != len(self.t):
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return e

    def or_(self):
        e = self.and_()
        while self.peek() in (("kw", "or"), ("op", "||")):
            self.i += 1
            e = ("or", e, self.and_())
        return e

    def and_(self):
        e = self.unary()
        while self.peek() in (("kw", "and"), ("op", "&&")):
            self.i += 1
            e = ("and", e, self.unary())
        return e

    def unary(self):
        if self.peek() in (("kw", "not"), ("op", "!")) and self.peek(1) != ("kw", "in"):
            self.i += 1
            return ("not", self.unary())
        return self.cmp()

    def cmp(self):
        a = self.operand()
        k, v = self.peek()
        if k == "op" and v in ("==", "!=", "<", ">", "<=", ">="):
            self.i += 1
            return ("cmp", v, a, self.operand())
        if (k, v) == ("kw", "not") and self.peek(1) == ("kw", "in"):
            self.i += 2
            return ("not", ("in", a, self.list_()))
        if (k, v) == ("kw", "in"):
            self.i += 1
            return ("in", a, self.list_())
        if (k, v) == ("kw", "like"):
            self.i += 1
            return ("like", a, unquote(self.take("str")))
        if a[0] in ("field", "json", "paren"):
            return a[1] if a[0] == "paren" else ("truthy", a)
        raise ValueError("a comparison is missing")

    def list_(self):
        self.take("op", "[")
        items = []
        while self.peek() != ("op", "]"):
            items.append(self.literal())
            if self.peek() == ("op", ","):
                self.i += 1
            elif self.peek() != ("op", "]"):
                raise ValueError("expected , or ] in a list")
        self.take("op", "]")
        return items

    def literal(self):
        k, v = self.peek()
        if k == "str":
            self.i += 1
            return unquote(v)
        if k == "num":
            self.i += 1
            return float(v) if re.search(r"[.eE]", v) else int(v)
        if k == "kw" and v in ("true", "false"):
            self.i += 1
            return v == "true"
        raise ValueError(f"expected a literal, found {v!r}")

    def operand(self):
        k, v = self.peek()
        if (k, v) == ("op", "("):
            self.i += 1
            e = self.or_()
            self.take("op", ")")
            return ("paren", e)
        if k == "ident":
            self.i += 1
            # a JSON key: field["key"] with no blank between (one token in Plan.g4)
            if self.peek() == ("op", "["):
                self.i += 1
                key = unquote(self.take("str"))
                self.take("op", "]")
                return ("json", v, key)
            return ("field", v)
        return ("lit", self.literal())


def like_regex(pattern):
    """LIKE: % any run, _ one character, backslash escapes the next one."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.S)


MISSING = object()


def same(a, b):
    """Equality as Milvus compares a JSON value with a literal: a bool only
    equals a bool, numbers compare as numbers, strings as strings; other
    combinations are false."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def evaluate(e, row, fields):
    op = e[0]
    if op == "true":
        return True
    if op == "and":
        return evaluate(e[1], row, fields) and evaluate(e[2], row, fields)
    if op == "or":
        return evaluate(e[1], row, fields) or evaluate(e[2], row, fields)
    if op == "not":
        return not evaluate(e[1], row, fields)
    if op == "cmp":
        a, b = value(e[2], row, fields), value(e[3], row, fields)
        if a is MISSING or b is MISSING:
            return False
        if e[1] == "==":
            return same(a, b)
        if e[1] == "!=":
            return not same(a, b)
        if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
            return False
        try:
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[e[1]]
        except TypeError:
            return False
    if op == "in":
        a = value(e[1], row, fields)
        return a is not MISSING and any(same(a, x) for x in e[2])
    if op == "like":
        a = value(e[1], row, fields)
        return isinstance(a, str) and like_regex(e[2]).fullmatch(a) is not None
    if op == "truthy":
        return value(e[1], row, fields) is True
    raise ValueError(op)


def value(e, row, fields):
    if e[0] == "lit":
        return e[1]
    if e[0] == "field":
        if e[1] not in fields:
            raise MilvusError(1100, f"cannot parse expression: field {e[1]} not exist")
        return row.get(e[1], MISSING)
    if e[0] == "json":
        if fields.get(e[1]) != "JSON":
            raise MilvusError(1100, f"cannot parse expression: {e[1]} is not a JSON field")
        obj = row.get(e[1])
        return obj.get(e[2], MISSING) if isinstance(obj, dict) else MISSING
    raise ValueError("an expression where a value belongs")


# ---- the server's state -----------------------------------------------------

# Milvus's ids are TSO-based, past 2^53: a JSON double could not carry them
# (the metrics carry them as label strings)
_next_id = [449999999999998000]


class Collection:
    def __init__(self, name, fields, consistency="Bounded", shards=1):
        self.name = name
        _next_id[0] += 2            # odd ids stay free for the metrics' decoys
        self.cid = _next_id[0]
        self.fields = [{"name": f["name"], "type": f["type"], "primary": bool(f.get("primary")),
                        "params": dict(f.get("params", {}))} for f in fields]
        fields = self.fields           # [{name, type, primary, params}]
        self.types = {f["name"]: f["type"] for f in fields}
        self.pk = next(f["name"] for f in fields if f["primary"])
        vec = [f for f in fields if f["type"] == "FloatVector"]
        self.vector = vec[0]["name"] if vec else None
        self.dim = int(vec[0]["params"]["dim"]) if vec else 0
        self.rows = []                # entities; insert may duplicate a key, as in Milvus
        self.norms = {}               # id(row) -> its vector's norm (rows are never mutated)
        self.index = None             # {index_type, metric, params}
        self.loaded = False
        self.load_polls = 0
        self.consistency = consistency
        self.shards = shards


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.collections = {}
        self.faults = []
        self.violations = []
        self.requests = {}
        self.connections = 0
        self.last_search = {}
        self.search_params = {}       # "nprobe=32" (or "ef=64", "none") -> searches
        self.last_request = time.monotonic()


def stringify_params(obj):
    return {k: str(v) for k, v in obj.items()}


def create(state, body):
    name = body["collectionName"]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", name):
        raise MilvusError(1100, f"Invalid collection name: {name}")
    if "schema" not in body:
        raise Violation("collections/create: this client always sends a schema")
    schema = body["schema"]
    check(schema, SCHEMA, "schema")
    fields = []
    for i, f in enumerate(schema["fields"]):
        check(f, FIELD_SCHEMA, f"schema.fields[{i}]")
        if f["dataType"] not in DATA_TYPES:
            raise MilvusError(1100, f"data type {f['dataType']} is invalid(case sensitive).")
        params = f.get("elementTypeParams", {})
        check(params, TYPE_PARAMS, f"schema.fields[{i}].elementTypeParams")
        params = stringify_params(params)
        if f["dataType"] == "FloatVector" and not 1 <= int(params.get("dim", 0)) <= 32768:
            raise MilvusError(1100, "invalid dimension: should be in range 2 ~ 32768")
        if f["dataType"] == "VarChar" and not 1 <= int(params.get("max_length", 0)) <= 65535:
            raise MilvusError(1100, "the maximum length specified for a VarChar field "
                              "should be in (0, 65535]")
        fields.append({"name": f["fieldName"], "type": f["dataType"],
                       "primary": bool(f.get("isPrimary")), "params": params})
    if sum(f["primary"] for f in fields) != 1:
        raise MilvusError(1100, "there should be exactly one primary key")
    if "indexParams" in body:
        raise Violation("collections/create: this client creates the index itself")
    params = body.get("params", {})
    check(params, CREATE_PARAMS, "params")
    level = params.get("consistencyLevel", "Bounded")
    if level not in CONSISTENCY:
        raise MilvusError(1100, "consistencyLevel can only be [Strong, Session, Bounded, "
                          "Eventually, Customized]")
    with state.lock:
        if name in state.collections:
            raise MilvusError(65535, f"collection already exists: {name}")
        state.collections[name] = Collection(name, fields, level,
                                             int(params.get("shardsNum", 1)))
    return {}


def get_collection(state, name):
    c = state.collections.get(name)
    if c is None:
        raise MilvusError(100, f"collection not found[collection={name}]")
    return c


def describe(state, body):
    c = get_collection(state, body["collectionName"])
    fields = []
    for i, f in enumerate(c.fields):
        d = {"name": f["name"], "type": f["type"], "primaryKey": f["primary"],
             "autoId": False, "partitionKey": False, "description": "", "id": 100 + i}
        if f["params"]:
            d["params"] = [{"key": k, "value": v} for k, v in f["params"].items()]
        fields.append(d)
    idx = [] if not c.index else [{"fieldName": c.vector, "indexName": c.index["name"],
                                   "metricType": c.index["metric"]}]
    return {"collectionName": c.name, "collectionID": abs(hash(c.name)) % (1 << 60),
            "description": "", "autoId": False, "enableDynamicField": False,
            "fields": fields, "indexes": idx, "aliases": [], "properties": [],
            "consistencyLevel": c.consistency, "shardsNum": c.shards, "partitionsNum": 1,
            "load": "LoadStateLoaded" if c.loaded else "LoadStateNotLoad"}


def check_row(c, row, i):
    if not isinstance(row, dict):
        raise Violation(f"data[{i}]: an entity is an object")
    for k in row:
        if k not in c.types:
            raise MilvusError(1804, f"fail to deal the insert data, error: field {k} is not "
                              "in the schema and the dynamic field is disabled")
    for f in c.fields:
        v = row.get(f["name"], MISSING)
        if v is MISSING:
            raise MilvusError(1804, f"fail to deal the insert data, error: there is no "
                              f"value for field {f['name']}")
        t = f["type"]
        if t == "Int64" and not is_type(v, INT):
            raise Violation(f"data[{i}].{f['name']}: Int64 must be a JSON integer")
        if t == "VarChar":
            if not isinstance(v, str):
                raise Violation(f"data[{i}].{f['name']}: VarChar must be a string")
            if len(v) > int(f["params"]["max_length"]):
                raise MilvusError(1100, f"length of varchar field {f['name']} exceeds max "
                                  "length")
        if t == "JSON" and not isinstance(v, dict):
            raise Violation(f"data[{i}].{f['name']}: this client stores JSON objects")
        if t == "FloatVector":
            if not isinstance(v, list) or not all(is_type(x, NUM) for x in v):
                raise Violation(f"data[{i}].{f['name']}: a vector is an array of numbers")
            if len(v) != c.dim:
                raise MilvusError(1804, f"fail to deal the insert data, error: the dim "
                                  f"({len(v)}) of field data({f['name']}) is not equal to "
                                  f"schema dim ({c.dim})")


def write(state, body, upsert):
    c = get_collection(state, body["collectionName"])
    rows = body["data"]
    if len(rows) == 0:
        raise MilvusError(1804, "fail to deal the insert data: no rows")
    if len(rows) > state.args.max_rows:
        raise Violation(f"{len(rows)} entities in one request; the Insert page allows "
                        f"{state.args.max_rows}")
    for i, r in enumerate(rows):
        check_row(c, r, i)
    with state.lock:
        if upsert:
            keys = {r[c.pk] for r in rows}
            gone = [r for r in c.rows if r[c.pk] in keys]
            c.rows = [r for r in c.rows if r[c.pk] not in keys]
            for r in gone:
                del c.norms[id(r)]
        for r in rows:
            r = dict(r)
            c.rows.append(r)
            c.norms[id(r)] = norm(r[c.vector]) if c.vector else 0.0
    ids = [r[c.pk] for r in rows]
    return ({"upsertCount": len(rows), "upsertIds": ids} if upsert
            else {"insertCount": len(rows), "insertIds": ids})


def parse_filter(text):
    try:
        return Parser(text).parse()
    except ValueError as ex:
        raise Violation(f"filter {text!r}: {ex}")


def need_loaded(c):
    if not c.loaded:
        raise MilvusError(101, f"collection not loaded[collection={c.name}]")


def delete(state, body):
    c = get_collection(state, body["collectionName"])
    if not body["filter"]:
        raise MilvusError(1100, "delete needs a filter")
    expr = parse_filter(body["filter"])
    with state.lock:
        keep = [r for r in c.rows if not evaluate(expr, r, c.types)]
        c.norms = {id(r): c.norms[id(r)] for r in keep}
        c.rows = keep
    return {}


def norm(v):
    return math.sqrt(math.fsum(map(operator.mul, v, v)))


def score(metric, q, nq, v, nv):
    """q, v as sent; nq, nv their norms (cosine)."""
    if metric == "L2":
        return math.fsum((a - b) * (a - b) for a, b in zip(q, v))
    dot = math.fsum(map(operator.mul, q, v))
    if metric == "IP":
        return dot
    return dot / (nq * nv) if nq > 0 and nv > 0 else 0.0


def search(state, body):
    c = get_collection(state, body["collectionName"])
    need_loaded(c)
    if body["annsField"] != c.vector:
        raise MilvusError(1100, f"cannot find a vector field named: {body['annsField']}")
    data = body["data"]
    if len(data) != 1 or not isinstance(data[0], list) or \
            not all(is_type(x, NUM) for x in data[0]):
        raise Violation("data: this client sends one vector of numbers per search")
    q = data[0]
    if len(q) != c.dim:
        raise MilvusError(1100, f"the dim ({len(q)}) of field data({c.vector}) is not equal "
                          f"to schema dim ({c.dim})")
    limit, offset = body.get("limit", 100), body.get("offset", 0)
    if not 1 <= limit or limit + offset >= MAX_TOPK:
        raise MilvusError(1100, f"topk [{limit}] is invalid, it should be in range [1, 16384]")
    sp = body.get("searchParams", {})
    check(sp, SEARCH_PARAMS, "searchParams")
    metric = sp.get("metricType", c.index["metric"] if c.index else "COSINE")
    if metric not in METRICS:
        raise MilvusError(1100, f"metric type {metric} not found or not supported")
    if c.index and metric != c.index["metric"]:
        raise MilvusError(1100, f"metric type not match: invalid parameter[expected="
                          f"{c.index['metric']}][actual={metric}]")
    inner = sp.get("params", {})
    check(inner, SEARCH_INNER, "searchParams.params")
    itype = c.index["index_type"] if c.index else ""
    if "nprobe" in inner:
        if not itype.startswith("IVF"):
            raise Violation(f"nprobe sent to a {itype or 'non-indexed'} collection")
        nlist = int(c.index["params"].get("nlist", 128))
        if not 1 <= inner["nprobe"] <= nlist:
            raise MilvusError(1100, f"nprobe out of range: [1, {nlist}]")
    if "ef" in inner:
        if itype != "HNSW":
            raise Violation(f"ef sent to a {itype or 'non-indexed'} collection")
        if inner["ef"] < limit:
            raise MilvusError(1100, f"ef({inner['ef']}) should be larger than k({limit})")
    key = ",".join(f"{k}={v}" for k, v in sorted(inner.items())) or "none"
    with state.lock:
        state.last_search = {"params": inner, "filter": body.get("filter", ""),
                             "limit": limit}
        state.search_params[key] = state.search_params.get(key, 0) + 1
    outs = body.get("outputFields", [])
    for f in outs:
        if f not in c.types and f != "*":
            raise MilvusError(1100, f"field {f} not exist")
    expr = parse_filter(body.get("filter", ""))
    with state.lock:
        rows = list(c.rows)
    nq = norm(q)
    hits = [(score(metric, q, nq, r[c.vector], c.norms[id(r)]), r) for r in rows
            if evaluate(expr, r, c.types)]
    hits.sort(key=lambda h: h[0], reverse=(metric != "L2"))
    out = []
    for d, r in hits[offset:offset + limit]:
        e = {c.pk: r[c.pk], "distance": d}
        for f in outs:
            if f != "*" and f != c.vector:
                e[f] = r[f]
        out.append(e)
    return out


def query(state, body):
    c = get_collection(state, body["collectionName"])
    need_loaded(c)
    outs = body.get("outputFields", [])
    expr = parse_filter(body["filter"])
    with state.lock:
        rows = [r for r in c.rows if evaluate(expr, r, c.types)]
    if outs == ["count(*)"]:
        return [{"count(*)": len(rows)}]
    if "count(*)" in outs:
        raise MilvusError(1100, "count(*) cannot be mixed with other fields")
    if not body["filter"] and "limit" not in body:
        raise MilvusError(1100, "empty expression should be used with limit")
    for f in outs:
        if f not in c.types:
            raise MilvusError(1100, f"field {f} not exist")
    limit, offset = body.get("limit", len(rows)), body.get("offset", 0)
    if limit < 1 or limit + offset > MAX_TOPK:
        raise MilvusError(1100, "invalid max query result window, (offset+limit) should be "
                          "in range [1, 16384]")
    res = []
    for r in rows[offset:offset + limit]:
        e = {c.pk: r[c.pk]}
        for f in outs:
            e[f] = r[f]
        res.append(e)
    return res


def index_create(state, body):
    c = get_collection(state, body["collectionName"])
    if len(body["indexParams"]) != 1:
        raise Violation("indexParams: this client creates one index at a time")
    p = body["indexParams"][0]
    check(p, INDEX_PARAM, "indexParams[0]")
    params = p.get("params", {})
    check(params, INDEX_PARAMS, "indexParams[0].params")
    if p["fieldName"] not in c.types:
        raise MilvusError(1100, f"cannot create index on non-exist field: {p['fieldName']}")
    itype = params["index_type"]
    metric = p.get("metricType", "COSINE")
    if itype not in INDEX_TYPES:
        raise MilvusError(1100, f"invalid index type: {itype}")
    if metric not in METRICS:
        raise MilvusError(1100, f"metric type {metric} not found or not supported")
    if itype.startswith("IVF") and not 1 <= int(params.get("nlist", 128)) <= 65536:
        raise MilvusError(1100, "nlist out of range: [1, 65536]")
    if itype == "HNSW" and not (2 <= int(params.get("M", 16)) <= 2048 and
                                1 <= int(params.get("efConstruction", 200)) <= 2147483647):
        raise MilvusError(1100, "M out of range: [2, 2048]")
    new = {"index_type": itype, "metric": metric, "name": p.get("indexName") or p["fieldName"],
           "params": stringify_params({k: v for k, v in params.items() if k != "index_type"})}
    with state.lock:
        if c.index and (c.index["index_type"], c.index["metric"], c.index["params"]) != \
                (new["index_type"], new["metric"], new["params"]):
            raise MilvusError(65535, "at most one distinct index is allowed per field")
        c.index = new
    return {}


def index_describe(state, body):
    c = get_collection(state, body["collectionName"])
    if not c.index or c.index["name"] != body["indexName"]:
        raise MilvusError(700, f"index not found[indexName={body['indexName']}]")
    n = len(c.rows)
    return [{"fieldName": c.vector, "indexName": c.index["name"],
             "indexType": c.index["index_type"], "metricType": c.index["metric"],
             "indexState": "Finished", "indexedRows": n, "totalRows": n, "pendingRows": 0,
             "failReason": ""}]


def load(state, body):
    c = get_collection(state, body["collectionName"])
    if not c.index:
        raise MilvusError(700, "there is no vector index on field: [vector], please create "
                          "index firstly")
    with state.lock:
        if not c.loaded:
            c.loaded = True
            c.load_polls = state.args.load_polls
    return {}


def load_state(state, body):
    c = state.collections.get(body["collectionName"])
    if c is None:
        return {"loadState": "LoadStateNotExist", "loadProgress": 0}
    with state.lock:
        if c.loaded and c.load_polls > 0:
            c.load_polls -= 1
            return {"loadState": "LoadStateLoading", "loadProgress": 50}
    return {"loadState": "LoadStateLoaded" if c.loaded else "LoadStateNotLoad",
            "loadProgress": 100 if c.loaded else 0}


def drop(state, body):
    with state.lock:
        if state.collections.pop(body["collectionName"], None) is None:
            raise MilvusError(100, f"collection not found[collection={body['collectionName']}]")
    return {}


# ---- the query nodes' metrics (GET /metrics) ---------------------------------
# Milvus's components serve Prometheus text (by default at :9091/metrics).  A
# query node's gauges milvus_querynode_entity_num{db_name, collection_name,
# node_id, collection_id, segment_state} and milvus_querynode_entity_size
# {node_id, collection_id, segment_state} (bytes of its loaded segments) are
# what the client reads: pkg/metrics/querynode_metrics.go and
# internal/querynodev2/metrics_info.go in the Milvus source.  This server's
# figure for a loaded collection is its own - rows x (dim x 4 + 8) + 65536
# bytes sealed, 0 growing - so a test can tell it from the client's estimate.
# Decoys the client must not count: a collection of the same name in another
# database (odd id), a metric whose name extends entity_size, escaped labels.

def memory_of(c):
    return len(c.rows) * (c.dim * 4 + 8) + 65536


def metrics_text(state, hostile=False):
    num = ["# HELP milvus_querynode_entity_num number of entities which can be "
           "searched/queried, clustered by collection, partition and state",
           "# TYPE milvus_querynode_entity_num gauge"]
    size = ["# HELP milvus_querynode_entity_size entities' memory size, clustered by "
            "collection and state", "# TYPE milvus_querynode_entity_size gauge"]
    with state.lock:
        for c in state.collections.values():
            if not c.loaded:
                continue          # a query node knows loaded segments only
            for st, n, b in (("Sealed", len(c.rows), memory_of(c)), ("Growing", 0, 0)):
                num.append('milvus_querynode_entity_num{collection_id="%d",collection_name="%s",'
                           'db_name="default",node_id="1",segment_state="%s"} %d'
                           % (c.cid, c.name, st, n))
                size.append('milvus_querynode_entity_size{collection_id="%d",node_id="1",'
                            'segment_state="%s"} %s'
                            % (c.cid, st, "NaN" if hostile else "%.10g" % b))
            num.append('milvus_querynode_entity_num{collection_id="%d",collection_name="%s",'
                       'db_name="other",node_id="1",segment_state="Sealed"} 5'
                       % (c.cid + 1, c.name))
            size.append('milvus_querynode_entity_size{collection_id="%d",node_id="1",'
                        'segment_state="Sealed"} 9.9e+12' % (c.cid + 1))
            size.append('milvus_querynode_entity_size_total{collection_id="%d"} 7e+12' % c.cid)
    size.append('milvus_querynode_other{path="a\\"b\\\\c\\n"} 1')
    return "\n".join(num + size) + "\n"


HANDLERS = {
    "collections/create": create, "collections/describe": describe,
    "collections/load": load, "collections/drop": drop,
    "collections/get_load_state": load_state,
    "entities/insert": lambda s, b: write(s, b, False),
    "entities/upsert": lambda s, b: write(s, b, True),
    "entities/delete": delete, "entities/search": search, "entities/query": query,
    "indexes/create": index_create, "indexes/describe": index_describe,
}


# ---- HTTP -------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive: the client should reuse one connection
    server_version = "milvus-contract/1"

    def log_message(self, fmt, *args):   # quiet; the stats say what happened
        pass

    def setup(self):
        super().setup()
        # headers and body go out in separate writes: without NODELAY, Nagle
        # and the client's delayed ACK add 40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.state.lock:
            self.server.state.connections += 1

    def send_json(self, obj, status=200):
        raw = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def send_raw(self, raw, status=200, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n) if n > 0 else b""

    def take_fault(self, path):
        st = self.server.state
        with st.lock:
            for f in st.faults:
                if f["path"] not in ("*", path) or f["times"] <= 0:
                    continue
                if f["skip"] > 0:
                    f["skip"] -= 1
                    return None
                f["times"] -= 1
                return dict(f)
        return None

    def do_GET(self):
        st = self.server.state
        with st.lock:
            stats = {"violations": list(st.violations), "requests": dict(st.requests),
                     "connections": st.connections,
                     "faults_left": sum(f["times"] for f in st.faults),
                     "last_search": st.last_search,
                     "search_params": dict(st.search_params),
                     "memory": {n: memory_of(c) for n, c in st.collections.items()
                                if c.loaded},
                     "collections": {n: len(c.rows) for n, c in st.collections.items()}}
        if self.path == "/metrics":
            with st.lock:
                st.requests["metrics"] = st.requests.get("metrics", 0) + 1
            st.last_request = time.monotonic()
            if self.headers.get("Authorization"):
                self.violation("/metrics: the token was sent to the metrics endpoint")
            fault = self.take_fault("metrics")
            k = fault["kind"] if fault else None
            if k == "status":
                return self.send_raw(b"unavailable", fault["status"], "text/plain")
            if k == "drop":
                return self.drop()
            if k == "slow":
                time.sleep(fault["delay_ms"] / 1000.0)
            text = metrics_text(st, hostile=(k == "hostile"))
            if k == "malformed":
                text = text[:text.index('collection_name="') + 20]
            return self.send_raw(text.encode(), ctype="text/plain; version=0.0.4")
        if self.path == "/contract/stats":
            return self.send_json(stats)
        if self.path.startswith("/contract/value/"):
            v = stats
            for k in self.path[len("/contract/value/"):].split("."):
                v = v.get(k, 0) if isinstance(v, dict) else 0
            text = json.dumps(v) if not isinstance(v, (int, float)) else str(v)
            return self.send_raw(text.encode(), ctype="text/plain")
        self.send_json({"code": 404, "message": "not found"}, 404)

    def do_POST(self):
        st = self.server.state
        st.last_request = time.monotonic()
        raw = self.read_body()
        if self.path.startswith("/contract/"):
            return self.control(raw)
        prefix = "/v2/vectordb/"
        path = self.path[len(prefix):] if self.path.startswith(prefix) else None
        with st.lock:
            st.requests[path or self.path] = st.requests.get(path or self.path, 0) + 1
        if path not in HANDLERS:
            self.violation(f"{self.path}: not an endpoint this client should call")
            return self.send_json({"code": 404, "message": "path not found"}, 404)
        if st.args.token is not None and \
                self.headers.get("Authorization") != f"Bearer {st.args.token}":
            return self.send_json({"code": 1800, "message": "user hasn't authenticated"}, 401)
        fault = self.take_fault(path)
        if fault:
            k = fault["kind"]
            if k == "status":
                return self.send_raw(b"<html>upstream unavailable</html>", fault["status"],
                                     "text/html")
            if k == "drop":
                return self.drop()
            if k == "slow":
                time.sleep(fault["delay_ms"] / 1000.0)
            if k == "malformed":
                return self.send_raw(b'{"code":0,"data":[{"id":1,"distance":0.5},{"id":')
            if k == "hostile":
                return self.send_raw(HOSTILE.get(fault["path"], HOSTILE["*"]).encode())
            if k == "code":
                return self.send_json({"code": fault["code"], "message": fault["message"]})
        ctype = self.headers.get("Content-Type", "")
        try:
            if not ctype.startswith("application/json"):
                raise Violation(f"Content-Type {ctype!r}: the API takes application/json")
            try:
                body = json.loads(raw)
            except ValueError as ex:
                raise Violation(f"the body is not JSON: {ex}")
            check(body, REQUESTS[path], path)
            data = HANDLERS[path](st, body)
            answer = {"code": 0, "data": data}
        except Violation as v:
            self.violation(f"{path}: {v}")
            answer = {"code": 1100, "message": f"contract violation: {v}"}
        except MilvusError as m:
            answer = {"code": m.code, "message": m.message}
        except Exception as ex:   # a bug here: answer as a server would, and say so
            self.violation(f"{path}: contract server error {type(ex).__name__}: {ex}")
            return self.send_json({"code": 65535, "message": f"server error: {ex}"}, 500)
        if fault and fault["kind"] == "drop_after":
            return self.drop()
        self.send_json(answer)

    def violation(self, text):
        with self.server.state.lock:
            self.server.state.violations.append(text)
        print(f"contract violation: {text}", file=sys.stderr, flush=True)

    def control(self, raw):
        st = self.server.state
        req = json.loads(raw or b"{}")
        if self.path == "/contract/faults":
            with st.lock:
                for f in req.get("faults", []):
                    st.faults.append({"path": f.get("path", "*"), "kind": f["kind"],
                                      "times": int(f.get("times", 1)),
                                      "skip": int(f.get("skip", 0)),
                                      "status": int(f.get("status", 503)),
                                      "delay_ms": int(f.get("delay_ms", 0)),
                                      "code": int(f.get("code", 65535)),
                                      "message": f.get("message", "injected error")})
            return self.send_json({"ok": True})
        if self.path == "/contract/clear":
            with st.lock:
                st.faults.clear()
            return self.send_json({"ok": True})
        if self.path == "/contract/collection":
            c = Collection(req["name"], req["fields"])
            with st.lock:
                st.collections[req["name"]] = c
            return self.send_json({"ok": True})
        self.send_json({"ok": False}, 404)


# well-formed JSON that lies: wrong types, absurd values, too many results
HOSTILE = {
    "entities/search": '{"code": 0, "data": [{"id": "x1", "distance": "near"}, '
                       '{"id": 1e300, "distance": 1e308}, {"distance": 0.5}]}',
    "entities/query": '{"code": 0, "data": [{"count(*)": -5}]}',
    "collections/describe": '{"code": 0, "data": {"fields": [{"name": "vector", "params": '
                            '[{"key": "dim", "value": "99999999999"}]}]}}',
    "collections/get_load_state": '{"code": 0, "data": {"loadState": 7}}',
    "indexes/describe": '{"code": 0, "data": [{"indexedRows": "lots"}]}',
    "*": '{"code": "zero", "data": null, "message": "\\u001b[2Jhostile"}',
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True, help="written with the port once listening")
    ap.add_argument("--token", help="require 'Authorization: Bearer TOKEN'")
    ap.add_argument("--max-rows", type=int, default=100,
                    help="entities per insert/upsert request (the Insert page says 100)")
    ap.add_argument("--load-polls", type=int, default=1,
                    help="get_load_state answers LoadStateLoading this many times first")
    ap.add_argument("--idle-timeout", type=float, default=60.0,
                    help="exit after this many seconds without a request")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                    help="speak https with this certificate and key (PEM)")
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*args.tls)
        # the handshake happens in the connection's thread (on first read),
        # so a client that fails it does not stall the others
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    server.daemon_threads = True
    server.state = State(args)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    while time.monotonic() - server.state.last_request < args.idle_timeout:
        time.sleep(0.2)
    server.shutdown()


if __name__ == "__main__":
    main()
