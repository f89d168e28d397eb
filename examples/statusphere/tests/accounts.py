#!/usr/bin/env python3
"""Create demo accounts on a local PDS, each with a profile record (display name).

Usage: accounts.py PDS_URL NAME...   prints "<handle> / <password>" per account.
Also importable: create_account(pds, name) -> dict(handle, password, did, jwt).
"""
import json
import secrets
import sys
import urllib.request


def xrpc(pds, method, body, jwt=None):
    req = urllib.request.Request(
        f"{pds}/xrpc/{method}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    if jwt:
        req.add_header("authorization", f"Bearer {jwt}")
    with urllib.request.urlopen(req, timeout=30) as res:
        body = res.read()
        return json.loads(body) if body else None


def create_account(pds, name, display=None):
    handle = f"{name}.test"
    password = secrets.token_urlsafe(12)
    out = xrpc(pds, "com.atproto.server.createAccount",
               {"handle": handle, "email": f"{name}@example.com", "password": password})
    acct = {"handle": handle, "password": password, "did": out["did"], "jwt": out["accessJwt"]}
    xrpc(pds, "com.atproto.repo.putRecord", {
        "repo": acct["did"], "collection": "app.bsky.actor.profile", "rkey": "self",
        "record": {"$type": "app.bsky.actor.profile",
                   "displayName": display or name.capitalize(),
                   "description": f"{name.capitalize()}, a demo account of the local network."},
    }, acct["jwt"])
    return acct


if __name__ == "__main__":
    pds = sys.argv[1]
    for n in sys.argv[2:]:
        a = create_account(pds, n)
        print(f"  {a['handle']} / {a['password']}")
