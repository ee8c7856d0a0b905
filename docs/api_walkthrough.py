"""Walk one report through GridDesk's whole loop, using nothing but the OpenAPI document.

    python docs/api_walkthrough.py [BASE_URL]        # default http://127.0.0.1:5000 (make demo)

Every URL comes from /api/v1/openapi.json by operationId; nothing else about the API is written
here. The demo accounts (password demo12345) log in for personal tokens, and each step is done
by whichever of them the ticket's `allowed_actions` says may do it: a command centre reports,
the person the matrix chose accepts and submits with an after photo, a reviewer sends it back
once, it is submitted again and approved by someone else, and the reporting desk records the
reporter's rating from a phone follow-up (回访).
Prints each step; exits 0 when the ticket is closed.
"""
from __future__ import annotations

import io
import sys
from urllib.parse import urljoin

import requests
from PIL import Image

ACCOUNTS = ("community", "street", "district", "gridworker", "handler", "leader")
PASSWORD = "demo12345"
LOOP = ("accept", "submit", "reject", "submit", "approve", "follow_up")


class Api:
    """Calls operations of the OpenAPI document by their operationId."""

    def __init__(self, base_url: str, session: requests.Session | None = None) -> None:
        self.http = session or requests.Session()
        self.http.trust_env = False  # straight to the server, whatever proxy is configured
        spec_url = urljoin(base_url.rstrip("/") + "/", "api/v1/openapi.json")
        document = self.http.get(spec_url, timeout=30).json()
        self.server = urljoin(spec_url, document["servers"][0]["url"]).rstrip("/")
        self.operations = {op["operationId"]: (path, method)
                           for path, ops in document["paths"].items()
                           for method, op in ops.items()}

    def call(self, operation_id: str, token: str | None = None, *, json=None, files=None,
             data=None, params=None, **path) -> requests.Response:
        route, method = self.operations[operation_id]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method.upper(), self.server + route.format(**path),
                                 json=json, files=files, data=data, params=params,
                                 headers=headers, timeout=30)

    def ok(self, response: requests.Response, *expected: int) -> dict:
        if response.status_code not in (expected or (200,)):
            raise SystemExit(f"{response.request.method} {response.url} → "
                             f"{response.status_code}: {response.text[:500]}")
        return response.json()


def photo(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def allowed(api: Api, token: str, ticket_id: int) -> list[str]:
    """What this account may do to the ticket (nothing when it lies outside its scope)."""
    answer = api.call("getTicket", token, ticket_id=ticket_id)
    return answer.json().get("allowed_actions", []) if answer.status_code == 200 else []


def walk(base_url: str, *, session: requests.Session | None = None, say=print) -> dict:
    api = Api(base_url, session)
    tokens = {}
    for name in ACCOUNTS:
        answer = api.call("issueToken", json={"username": name, "password": PASSWORD})
        if answer.status_code == 200:
            tokens[name] = answer.json()["token"]
    desk = next(name for name in ("community", "street", "district") if name in tokens)

    categories = api.ok(api.call("listCategories", tokens[desk]))["items"]
    category = next(c for c in categories if c["leaf"] and c["parent"]
                    and not any(f["required"] for f in c.get("fields", [])))
    # A place inside the district: where an earlier report of the desk was made.
    listed = api.ok(api.call("listTickets", tokens[desk], params={"limit": 50}))["items"]
    place = next(t for t in listed if t["lat"] is not None)
    ticket = api.ok(api.call("createTicket", tokens[desk], json={
        "category": category["code"], "description": "接口演示：路边垃圾桶满溢",
        "lat": place["lat"], "lon": place["lon"], "reporter_phone": "13900009999"}), 201)
    owner = (ticket["assigned_user"] or {}).get("display_name") or \
        (ticket["assigned_department"] or {}).get("name")
    say(f"created {ticket['number']} ({category['name']}) by {desk}: {ticket['status_label']}, "
        f"dispatched to {owner}")

    submitted_by = None
    for number, action in enumerate(LOOP):
        who = next((name for name, token in tokens.items()
                    if action in allowed(api, token, ticket["id"])
                    and not (action == "approve" and name == submitted_by)), None)
        if who is None:
            raise SystemExit(f"none of the demo accounts may {action} {ticket['number']}")
        if action == "submit":
            api.ok(api.call("addAttachment", tokens[who], ticket_id=ticket["id"],
                            data={"kind": "after"},
                            files={"file": (f"after-{number}.jpg", photo("green"), "image/jpeg")}),
                   201)
            submitted_by = who
        current = api.ok(api.call("getTicket", tokens[who], ticket_id=ticket["id"]))
        extra = {"reject": {"note": "现场仍有残留，请返工"}, "submit": {"note": "已清运"},
                 "follow_up": {"rating": 5, "note": "电话回访上报人：处理及时"}}.get(action, {})
        ticket = api.ok(api.call("actOnTicket", tokens[who], ticket_id=ticket["id"],
                                 action=action, json={"version": current["version"], **extra}))
        say(f"{action} by {who}: {ticket['status_label']}")
    return ticket


def main(argv: list[str]) -> int:
    final = walk(argv[1] if len(argv) > 1 else "http://127.0.0.1:5000")
    print(f"{final['number']}: {final['status']}, rework {final['rework_count']}, "
          f"rating {final['rating']}, {len(final['timeline'])} timeline steps")
    return 0 if final["status"] == "closed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
