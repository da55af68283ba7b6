#!/usr/bin/env python3
"""Bytes one audited change costs on disk: N `PUT /api/v1/workflows/wK` (over 50 workflows, each
changing one URI) against `vigil serve` on a fresh SQLite file, then the audit table's and its
indexes' pages from SQLite's `dbstat`.

    cargo build -p vigil && python3 docs/benchmarks/audit_cost.py target/debug/vigil 2000
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

vigil, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000
tmp = tempfile.mkdtemp()
os.makedirs(f"{tmp}/cfg/workflows")
env = dict(os.environ, VIGIL_DB=f"{tmp}/v.db", VIGIL_SECRET_KEY="ab" * 32)
token = subprocess.run([vigil, "token", "create", "--role", "admin"], env=env, capture_output=True, text=True).stdout.strip()
port = 7791
server = subprocess.Popen([vigil, "serve", "--auth", "on", "--listen", f"127.0.0.1:{port}", "--config", f"{tmp}/cfg"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz")
            break
        except OSError:
            time.sleep(0.1)
    started = time.time()
    for i in range(n):
        name = f"w{i % 50}"
        doc = {"name": name, "tasks": [{"name": "get", "taskReferenceName": "get", "type": "HTTP",
               "inputParameters": {"http_request": {"uri": f"http://127.0.0.1:9/{i}", "method": "GET"}}}]}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/workflows/{name}", data=json.dumps(doc).encode(),
                                     method="PUT", headers={"Authorization": f"Bearer {token}",
                                                            "Content-Type": "application/json"})
        urllib.request.urlopen(req).read()
    elapsed = time.time() - started
finally:
    server.terminate()
    server.wait()
db = sqlite3.connect(f"{tmp}/v.db")
rows, change, text = db.execute(
    "SELECT count(*), avg(length(change)), sum(length(change) + length(action) + length(actor) + length(kind) "
    "+ length(name) + length(address) + length(source)) FROM audit_log").fetchone()
pages = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'audit%'").fetchone()[0]
print(f"{n} PUTs in {elapsed:.2f} s; {rows} audit rows; change {change:.0f} B, text {text / rows:.0f} B, "
      f"on disk {pages / rows:.0f} B per row (table and indexes)")
