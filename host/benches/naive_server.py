#!/usr/bin/env python3
"""A naive one-insert MCP server: the baseline of `core.rs` for publish and get over MCP.

Written for the benchmark, Python 3 standard library only. It speaks newline-delimited
JSON-RPC 2.0 on stdin/stdout, as MCP's stdio transport does, and offers two tools:

- `artifact_publish {artifact_id, type, data}`: one SQLite transaction per publish
  (`BEGIN IMMEDIATE`, the next version from `max(version)`, one `INSERT`, `COMMIT`) on a
  WAL database with `synchronous=FULL`, so one fsync per commit, as in clearctx;
- `artifact_get {artifact_id}`: one `SELECT` of the latest version; no write at all.

No validation, no event log, no reactions, no read records: the least an MCP server that
stores versioned artifacts durably can do. Usage: `naive_server.py <database path>`.
"""

import json
import sqlite3
import sys

SERVER_INFO = {"name": "naive-artifact-server", "version": "0"}

TOOLS = [
    {
        "name": "artifact_publish",
        "description": "Publish a new version of an artifact.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "artifact_id": {"type": "string"},
                "type": {"type": "string"},
                "data": {},
            },
            "required": ["artifact_id", "type", "data"],
        },
    },
    {
        "name": "artifact_get",
        "description": "Read the latest version of an artifact.",
        "inputSchema": {
            "type": "object",
            "properties": {"artifact_id": {"type": "string"}},
            "required": ["artifact_id"],
        },
    },
]


def open_db(path):
    # Autocommit mode: the transactions below are explicit.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA busy_timeout = 30000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute(
        "CREATE TABLE IF NOT EXISTS artifacts ("
        " artifact_id TEXT NOT NULL,"
        " version INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " data TEXT NOT NULL,"
        " PRIMARY KEY (artifact_id, version))"
    )
    return db


def tool_result(structured):
    return {
        "content": [{"type": "text", "text": json.dumps(structured)}],
        "structuredContent": structured,
    }


def tool_error(message):
    return {"content": [{"type": "text", "text": message}], "isError": True}


def publish(db, args):
    artifact_id, artifact_type = args.get("artifact_id"), args.get("type")
    if not isinstance(artifact_id, str) or not isinstance(artifact_type, str):
        return tool_error("artifact_publish: artifact_id and type must be strings")
    if "data" not in args:
        return tool_error("artifact_publish: data is required")
    text = json.dumps(args["data"])
    db.execute("BEGIN IMMEDIATE")
    try:
        (latest,) = db.execute(
            "SELECT max(version) FROM artifacts WHERE artifact_id = ?", (artifact_id,)
        ).fetchone()
        version = (latest or 0) + 1
        db.execute(
            "INSERT INTO artifacts (artifact_id, version, type, data) VALUES (?, ?, ?, ?)",
            (artifact_id, version, artifact_type, text),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return tool_result({"artifact_id": artifact_id, "version": version})


def get(db, args):
    artifact_id = args.get("artifact_id")
    if not isinstance(artifact_id, str):
        return tool_error("artifact_get: artifact_id must be a string")
    row = db.execute(
        "SELECT version, type, data FROM artifacts WHERE artifact_id = ?"
        " ORDER BY version DESC LIMIT 1",
        (artifact_id,),
    ).fetchone()
    if row is None:
        return tool_error(f"artifact_get: no artifact {artifact_id!r}")
    version, artifact_type, text = row
    return tool_result(
        {
            "artifact_id": artifact_id,
            "type": artifact_type,
            "version": version,
            "data": json.loads(text),
        }
    )


CALLS = {"artifact_publish": publish, "artifact_get": get}


def handle(db, method, params):
    """The result of a request, or raises `RpcError`."""
    if method == "initialize":
        return {
            "protocolVersion": params.get("protocolVersion", "2025-06-18"),
            "capabilities": {"tools": {}},
            "serverInfo": SERVER_INFO,
        }
    if method == "ping":
        return {}
    if method == "tools/list":
        return {"tools": TOOLS}
    if method == "tools/call":
        name = params.get("name")
        call = CALLS.get(name)
        if call is None:
            return tool_error(f"unknown tool {name!r}")
        args = params.get("arguments") or {}
        if not isinstance(args, dict):
            return tool_error(f"{name}: arguments must be an object")
        return call(db, args)
    raise RpcError(-32601, f"method not found: {method}")


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: naive_server.py <database path>\n")
        return 2
    db = open_db(sys.argv[1])
    out = sys.stdout
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError as e:
            reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": str(e)}}
        else:
            if not isinstance(message, dict):
                reply = {
                    "jsonrpc": "2.0",
                    "id": None,
                    "error": {"code": -32600, "message": "not a request"},
                }
            elif "id" not in message:
                # A notification (`notifications/initialized`, ...): nothing to answer.
                continue
            else:
                request_id = message["id"]
                params = message.get("params") or {}
                try:
                    reply = {
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "result": handle(db, message.get("method"), params),
                    }
                except RpcError as e:
                    reply = {
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "error": {"code": e.code, "message": e.message},
                    }
                except Exception as e:  # a fault of this server, not of the request
                    reply = {
                        "jsonrpc": "2.0",
                        "id": request_id,
                        "error": {"code": -32603, "message": f"{type(e).__name__}: {e}"},
                    }
        out.write(json.dumps(reply))
        out.write("\n")
        out.flush()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
