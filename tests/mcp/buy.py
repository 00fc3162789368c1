#!/usr/bin/env python3
"""Buys a product from anycart's MCP server with the official MCP Python SDK
(`mcp` from PyPI, a client nobody on the project wrote).

Starts `anycart serve --demo` on a free port with a fresh data directory,
registers an agent platform whose webhook is a small signed-webhook receiver
in this process, then, through MCP over Streamable HTTP with the platform's
key as `Authorization: Bearer`:

1. lists the tools (the five ACP checkout tools, search and availability);
2. searches the catalogue, reads a variant's live availability;
3. creates a checkout session, picks the shipping option, completes it with
   the sandbox card, and checks the order and the lower availability;
4. replays the complete with the same idempotency key: same order, no second
   charge;
5. sends bad calls (wrong argument types, no API version, no key) and checks
   each error is MCP's shape carrying ACP's error;
6. waits for the platform's `order_create` webhook and verifies its
   `Merchant-Signature` (HMAC-SHA256 of `t.body`) and that the order's
   attribution names the agent platform through MCP.

Run by scripts/test (which installs the SDK into a virtualenv):
    python tests/mcp/buy.py [path/to/anycart]
"""

import asyncio
import hashlib
import hmac
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

API_VERSION = "2026-04-17"
SECRET = "whsec_" + "s" * 40
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhooks(http.server.BaseHTTPRequestHandler):
    """The agent platform's webhook endpoint: keeps what verifies, refuses the rest."""

    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        sig = self.headers.get("Merchant-Signature", "")
        parts = dict(p.split("=", 1) for p in sig.split(",") if "=" in p)
        expected = hmac.new(SECRET.encode(), f"{parts.get('t', '')}.".encode() + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(parts.get("t", "0"))) < 300
        if not (fresh and hmac.compare_digest(expected, parts.get("v1", ""))):
            self.send_response(401)
            self.end_headers()
            return
        Webhooks.received.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"received": true}')

    def log_message(self, *_):
        pass


def admin(base: str, key: str, method: str, path: str, body=None) -> dict:
    req = urllib.request.Request(
        f"{base}/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def start_server(binary: str):
    data = tempfile.mkdtemp(prefix="anycart-mcp-")
    port = free_port()
    log = open(os.path.join(data, "server.log"), "w")
    proc = subprocess.Popen(
        [binary, "serve", "--demo", "--data-dir", data, "--addr", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    demo = os.path.join(data, "demo.json")
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"anycart exited early; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                if r.status == 200 and os.path.exists(demo):
                    break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        raise SystemExit("anycart did not start in 30 s")
    with open(demo) as f:
        return proc, data, json.load(f)


def meta(key=None) -> dict:
    return {"api_version": API_VERSION, "idempotency_key": key or str(uuid.uuid4())}


async def expect_error(session, tool, args, rpc_code, acp_code, param=None):
    try:
        await session.call_tool(tool, args)
    except MCPError as e:
        assert e.code == rpc_code, (tool, e.code, e.message)
        assert e.data["code"] == acp_code, (tool, e.data)
        assert e.data["type"] == "invalid_request", e.data
        if param:
            assert e.data.get("param") == param, e.data
        return e
    raise AssertionError(f"{tool} with {args} was accepted")


async def buy(mcp_url: str, key: str) -> dict:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=30)
    async with http, streamable_http_client(mcp_url, http_client=http) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            print(f"    tools: {sorted(tools)}")
            for name in ("create_checkout_session", "get_checkout_session", "update_checkout_session",
                         "complete_checkout_session", "cancel_checkout_session", "search_products",
                         "get_product_availability"):
                assert name in tools, name
            assert "payload" in tools["create_checkout_session"].input_schema["properties"]

            found = (await session.call_tool("search_products", {"query": "bottle"})).structured_content
            variant = next(v for p in found["products"] for v in p["variants"] if v["availability"]["available"])
            print(f"    found {variant['title']} ({variant['availability']['status']})")

            async def available() -> int:
                r = await session.call_tool("get_product_availability", {"variant_ids": [variant["id"]]})
                return r.structured_content["variants"][0]["available_quantity"]

            before = await available()

            created = await session.call_tool("create_checkout_session", {
                "meta": meta(),
                "payload": {
                    "currency": "usd",
                    "line_items": [{"id": variant["id"], "quantity": 1}],
                    "capabilities": {"interventions": {"supported": ["3ds"]}},
                    "buyer": {"email": "mcp-buyer@example.com", "first_name": "Ada"},
                    "fulfillment_details": {"name": "Ada Lovelace", "address": {
                        "name": "Ada Lovelace", "line_one": "1 Market St", "city": "San Francisco",
                        "state": "CA", "country": "US", "postal_code": "94105"}},
                    "affiliate_attribution": {"provider": "impact.com", "publisher_id": "pub_123",
                                              "token": "atp_secret_token"},
                },
            })
            session_wire = created.structured_content
            sid = session_wire["id"]
            assert await available() == before - 1, "the stock is held"
            option = session_wire["fulfillment_options"][0]["id"]
            updated = (await session.call_tool("update_checkout_session", {
                "meta": meta(), "id": sid,
                "payload": {"selected_fulfillment_options": [{"type": "shipping", "option_id": option}]},
            })).structured_content
            assert updated["status"] == "ready_for_payment", updated["status"]
            handler = updated["capabilities"]["payment"]["handlers"][0]["id"]
            pay_key = str(uuid.uuid4())
            complete_args = {"meta": meta(pay_key), "id": sid, "payload": {"payment_data": {
                "handler_id": handler,
                "instrument": {"type": "card", "credential": {"type": "spt", "token": "tok_visa"}}}}}
            done = (await session.call_tool("complete_checkout_session", complete_args)).structured_content
            assert done["status"] == "completed", done["status"]
            order = done["order"]
            print(f"    bought: order {order['order_number']} ({order['id']}), total "
                  f"{next(t['amount'] for t in done['totals'] if t['type'] == 'total')} cents")
            assert "affiliate_attribution" not in json.dumps(done), "attribution is write-only"
            assert await available() == before - 1, "one unit sold"

            again = (await session.call_tool("complete_checkout_session", complete_args)).structured_content
            assert again["order"]["id"] == order["id"], "a replay is the same order"

            # Bad calls: MCP's shape, ACP's error inside.
            bad_qty = {"meta": meta(), "payload": {"currency": "usd",
                                                    "line_items": [{"id": variant["id"], "quantity": "two"}]}}
            await expect_error(session, "create_checkout_session", bad_qty, -32000, "invalid_field",
                               "$.line_items[0].quantity")
            await expect_error(session, "get_checkout_session", {"meta": meta(), "id": 42}, -32602,
                               "invalid_field", "$.id")
            await expect_error(session, "get_checkout_session", {"id": sid}, -32000, "missing_api_version")
            await expect_error(session, "get_checkout_session", {"meta": meta(), "id": "cs_nope"}, -32000,
                               "not_found")
            await expect_error(session, "complete_checkout_session", {"meta": meta(pay_key), "id": sid,
                               "payload": {"payment_data": {"handler_id": handler}}}, -32000,
                               "idempotency_conflict")
            assert await available() == before - 1, "refused calls changed nothing"
            return order


async def no_key(mcp_url: str) -> None:
    http = httpx2.AsyncClient(timeout=10)
    async with http:
        r = await http.post(mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                            headers={"Accept": "application/json, text/event-stream"})
        assert r.status_code == 401, r.status_code
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
        body = r.json()
        assert body["error"]["data"]["code"] == "invalid_api_key", body


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "target", "debug", "anycart")
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Webhooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    proc, data, demo = start_server(binary)
    try:
        base = demo["base_url"]
        platform = admin(base, demo["secret_key"], "POST", "/agent_platforms", {
            "name": "python-mcp-agent",
            "webhook_url": f"http://127.0.0.1:{hooks.server_address[1]}/acp/webhooks",
            "signing_secret": SECRET,
        })
        print(f"==> agent platform {platform['id']} registered; buying through MCP with its key")
        order = asyncio.run(buy(f"{base}/mcp", platform["api_key"]))
        asyncio.run(no_key(f"{base}/mcp"))
        print("    bad calls refused in MCP's shape with ACP errors; no key is a 401")
        for _ in range(100):
            if any(w["type"] == "order_create" and w["data"]["id"] == order["id"] for w in Webhooks.received):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no signed order_create webhook for {order['id']}: {Webhooks.received}")
        created = next(w for w in Webhooks.received if w["type"] == "order_create")
        assert created["data"]["checkout_session_id"], created
        assert "atp_secret_token" not in json.dumps(Webhooks.received), "tokens never leave anycart"
        seen = admin(base, demo["secret_key"], "GET", f"/orders/{order['id']}")
        agent = seen["attribution"]["agent"]
        assert seen["attribution"]["channel"] == "agent", seen["attribution"]
        assert agent == {"protocol": "mcp", "name": platform["id"]}, agent
        print(f"==> MCP purchase OK: signed order_create received; order attributed to {agent}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        hooks.shutdown()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
