#!/usr/bin/env python3
"""Statusphere in a real browser (headless Chromium through Selenium) against the
reference network: two users sign in on the PDS's own sign-in page, set statuses, see
each other's; the app restarts mid-test (sessions and cursor survive, nothing lost or
doubled); records written by another client (the atmo CLI) appear, invalid ones do not;
bad input gives clear pages. Screenshots of each step go to $ARTIFACTS.

Run by examples/statusphere/tests/browser-test (inside a loopback-only network namespace,
with the reference network up and ATMO_REFNET_STATE set).
"""
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from accounts import create_account, xrpc  # noqa: E402

ART = os.environ["ARTIFACTS"]
APP_BIN = os.environ["STATUSPHERE_BIN"]
CLI_BIN = os.environ["ATMO_BIN"]
NET = json.load(open(os.environ["ATMO_REFNET_STATE"]))
PDS, PLC = NET["pds"], NET["plc"]
COOKIE = "statusphere_sid"
NSID = "xyz.statusphere.status"

passed, failed = [], []
shot_no = [0]


def check(name, ok, detail=""):
    (passed if ok else failed).append(name)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"), flush=True)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """The statusphere binary, started and stopped like a real deployment."""

    def __init__(self, port):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.env = dict(os.environ,
                        STATUSPHERE_BIND=f"127.0.0.1:{port}",
                        STATUSPHERE_DB=os.path.join(ART, "statusphere.sqlite"),
                        STATUSPHERE_FIREHOSE=PDS, STATUSPHERE_PLC_URL=PLC,
                        STATUSPHERE_HANDLE_RESOLVER=PDS,
                        STATUSPHERE_ALLOW_PRIVATE_NETWORK="1")
        self.proc = None
        self.log = open(os.path.join(ART, "app.log"), "a")
        self.lines = []

    def start(self):
        self.proc = subprocess.Popen([APP_BIN], env=self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        ready = threading.Event()

        def pump(p):
            for line in p.stdout:
                self.log.write(line)
                self.log.flush()
                self.lines.append(line)
                if "listening on" in line:
                    ready.set()
        threading.Thread(target=pump, args=(self.proc,), daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError("the app did not start; see app.log")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        return self.proc.returncode


def db(sql, *args):
    with sqlite3.connect(os.path.join(ART, "statusphere.sqlite")) as c:
        return c.execute(sql, args).fetchall()


def wait_for(what, fn, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return fn()


def browser():
    o = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--window-size=900,1300",
              "--lang=en-US"]:
        o.add_argument(a)
    o.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    svc = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(options=o, service=svc)
    d.set_page_load_timeout(30)
    return d


def shot(d, name):
    shot_no[0] += 1
    d.save_screenshot(os.path.join(ART, f"{shot_no[0]:02d}-{name}.png"))


def wait(d, cond, timeout=20):
    return WebDriverWait(d, timeout).until(lambda d: cond(d))


def first_line(d):
    lines = d.find_elements(By.CSS_SELECTOR, "#timeline .status-line")
    return lines[0].text.replace("\n", " ") if lines else ""


def to_pds_sign_in(d, app, acct, who):
    d.get(app.base + "/")
    d.find_element(By.ID, "login-link").click()
    d.find_element(By.NAME, "handle").send_keys(acct["handle"])
    shot(d, f"{who}-login-form")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda d: d.current_url.startswith(PDS) and d.find_elements(By.NAME, "password"))
    shot(d, f"{who}-pds-sign-in")
    d.find_element(By.NAME, "password").send_keys(acct["password"])
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda d: [b for b in d.find_elements(By.TAG_NAME, "button") if b.text == "Authorize"])
    shot(d, f"{who}-pds-consent")


def sign_in(d, app, acct, who):
    to_pds_sign_in(d, app, acct, who)
    [b for b in d.find_elements(By.TAG_NAME, "button") if b.text == "Authorize"][0].click()
    wait(d, lambda d: d.current_url.startswith(app.base) and d.find_elements(By.ID, "profile"))
    shot(d, f"{who}-signed-in")


def pick(d, emoji, who):
    d.find_element(By.CSS_SELECTOR, f"button.status-option[value='{emoji}']").click()
    wait(d, lambda d: d.find_elements(By.ID, "timeline"))
    shot(d, f"{who}-picked")


def http(method, url, form=None, cookie=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if cookie:
        req.add_header("cookie", f"{COOKIE}={cookie}")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def cli(acct, *args, stdin=None):
    env = dict(os.environ, ATMO_SESSION_FILE=os.path.join(ART, f"cli-{acct['handle']}.json"),
               XDG_STATE_HOME=ART, ATMO_APP_PASSWORD=acct["password"])
    netargs = ["--plc", PLC, "--handle-resolver", PDS, "--allow-private-network"]
    r = subprocess.run([CLI_BIN, *args, *netargs], env=env, input=stdin, text=True,
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"atmo {' '.join(args)}: {r.stderr}")
    return r.stdout


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def pds_statuses(did):
    q = urllib.parse.urlencode({"repo": did, "collection": NSID, "limit": 100})
    with urllib.request.urlopen(f"{PDS}/xrpc/com.atproto.repo.listRecords?{q}", timeout=30) as r:
        return {x["uri"]: x["value"] for x in json.loads(r.read())["records"]}


def main():
    alice = create_account(PDS, "alice")
    bob = create_account(PDS, "bob")
    app = App(free_port())
    app.start()
    a = browser()
    b = browser()
    c = browser()
    try:
        scenario(app, alice, bob, a, b, c)
    except Exception as e:  # a step that could not run at all is a failure, with a picture
        check("scenario ran to the end", False, repr(e))
        for n, d in (("a", a), ("b", b), ("c", c)):
            try:
                shot(d, f"failure-{n}")
            except Exception:
                pass
    finally:
        for d in (a, b, c):
            d.quit()
        if app.proc and app.proc.poll() is None:
            app.stop()
    print(f"\nscreenshots and logs: {ART}")
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def scenario(app, alice, bob, a, b, c):
    # User A opens the app signed out, signs in on the PDS's page, lands back signed in.
    a.get(app.base + "/")
    shot(a, "a-home-signed-out")
    check("signed-out home offers a log-in", bool(a.find_elements(By.ID, "login-link")))
    sign_in(a, app, alice, "a")
    check("A's profile is shown (from the profile record)",
          a.find_element(By.ID, "profile-name").text == "Alice"
          and "Your profile" in a.page_source,
          a.find_element(By.ID, "profile").text)
    check("A's handle is shown", a.find_element(By.ID, "profile-handle").text == "@alice.test")
    # A picks an emoji and sees it at the top of the timeline.
    pick(a, "🦋", "a")
    line = first_line(a)
    check("A's status tops the timeline", "@alice.test is feeling 🦋 on" in line, line)
    check("A's pick is marked selected",
          a.find_element(By.CSS_SELECTOR, "button.selected").get_attribute("value") == "🦋")

    # User B signs in in another browser and sees A's status, then sets its own.
    sign_in(b, app, bob, "b")
    check("B sees A's status", "@alice.test is feeling 🦋" in b.find_element(By.ID, "timeline").text)
    pick(b, "🚀", "b")
    line = first_line(b)
    check("B's status tops B's timeline", "@bob.test is feeling 🚀 on" in line, line)
    a.refresh()
    shot(a, "a-reloaded-sees-b")
    line = first_line(a)
    check("A reloads and sees B's status on top", "@bob.test is feeling 🚀 on" in line, line)

    # Both statuses also came through the firehose (the optimistic rows were written
    # first; the firehose copies are idempotent): the ingester logged them and the cursor
    # moved past them.
    seen = wait_for("firehose", lambda: sum("firehose: statuses" in l for l in app.lines) >= 2)
    check("the firehose delivered both statuses", seen,
          [l for l in app.lines if "firehose" in l][-5:])
    rows = db("SELECT uri, status FROM status ORDER BY indexedAt")
    check("two rows, no doubles", len(rows) == 2, rows)
    cursor_before = db("SELECT seq FROM cursor")
    check("cursor stored", cursor_before and cursor_before[0][0] > 0, cursor_before)

    # Restart the app; while it is down, another client (the atmo CLI) writes a status
    # for B and an invalid one (two graphemes) for A.
    code = app.stop()
    check("the app stops cleanly on SIGTERM", code == 0, code)
    cli(bob, "login", bob["handle"])
    cli(alice, "login", alice["handle"])
    made = json.loads(cli(bob, "record", "create", NSID, "-",
                          stdin=json.dumps({"$type": NSID, "status": "🧠", "createdAt": now()})))
    bad = json.loads(cli(alice, "record", "create", NSID, "-",
                         stdin=json.dumps({"$type": NSID, "status": "🧠🧠", "createdAt": now()})))
    app.start()
    a.refresh()
    shot(a, "a-after-restart")
    check("A is still signed in after the restart",
          a.find_elements(By.ID, "greeting") and a.find_element(By.ID, "greeting").text == "Alice")
    got = wait_for("cli record", lambda: db("SELECT status FROM status WHERE uri = ?", made["uri"]))
    check("a status written by the CLI while the app was down appears (cursor resumed)",
          got == [("🧠",)], got)
    a.refresh()
    line = first_line(a)
    shot(a, "a-sees-cli-status")
    check("the CLI's status tops the timeline", "@bob.test is feeling 🧠 on" in line, line)
    # Give the ingester time to pass the invalid record, then check it was skipped.
    wait_for("cursor", lambda: db("SELECT seq FROM cursor")[0][0] > cursor_before[0][0])
    time.sleep(1)
    check("an invalid status record is not ingested",
          db("SELECT count(*) FROM status WHERE uri = ?", bad["uri"]) == [(0,)])
    check("an invalid status is not shown", "🧠🧠" not in a.page_source)
    # Nothing lost or doubled: the table holds exactly the valid records of both repos.
    valid = {}
    for acct in (alice, bob):
        valid.update({u: v["status"] for u, v in pds_statuses(acct["did"]).items()
                      if v["status"] != "🧠🧠"})
    rows = dict(db("SELECT uri, status FROM status"))
    check("no status lost or doubled across the restart", rows == valid, (rows, valid))

    # Live: a CLI delete removes the row.
    rkey = made["uri"].rsplit("/", 1)[1]
    cli(bob, "record", "delete", made["uri"])
    gone = wait_for("delete", lambda: not db("SELECT 1 FROM status WHERE uri = ?", made["uri"]))
    check("a deleted record leaves the timeline", gone, rkey)
    a.refresh()
    line = first_line(a)
    check("after the delete B's 🚀 is on top again", "@bob.test is feeling 🚀" in line, line)

    # B changes handle: the #identity event clears the cached handle, the timeline follows.
    xrpc(PDS, "com.atproto.identity.updateHandle", {"handle": "bobby.test"}, bob["jwt"])

    def renamed():
        a.refresh()
        return "@bobby.test is feeling 🚀" in a.find_element(By.ID, "timeline").text
    check("a handle change shows up (handle cache cleared by #identity)", wait_for("rename", renamed),
          a.find_element(By.ID, "timeline").text)
    shot(a, "a-sees-new-handle")

    # Bad input, each a clear page and never a 500.
    c.get(app.base + "/login")
    c.find_element(By.NAME, "handle").send_keys("nobody.test")
    c.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(c, lambda d: d.find_elements(By.ID, "error"))
    shot(c, "bad-unknown-handle")
    check("unknown handle: a clear message", "nobody.test" in c.find_element(By.ID, "error").text)
    st, body = http("POST", app.base + "/login", {"handle": "nobody.test"})
    check("unknown handle: 400", st == 400, st)
    st, body = http("POST", app.base + "/login", {"handle": "not a handle!"})
    check("malformed handle: 400 with a message", st == 400 and "is not a handle" in body, st)

    to_pds_sign_in(c, app, alice, "c")
    [x for x in c.find_elements(By.TAG_NAME, "button") if x.text == "Deny access"][0].click()
    wait(c, lambda d: d.current_url.startswith(app.base) and d.find_elements(By.ID, "error-title"))
    shot(c, "bad-cancelled-consent")
    check("cancelled consent: a clear page",
          c.find_element(By.ID, "error-title").text == "Sign-in cancelled",
          c.find_element(By.ID, "error-title").text)
    check("cancelled consent: not signed in", not c.get_cookie(COOKIE))

    st, body = http("GET", app.base + "/oauth/callback?code=forged&state=forged&iss=http%3A%2F%2Fevil.test")
    check("forged callback: 400 'Sign-in failed'", st == 400 and "Sign-in failed" in body, st)
    c.get(app.base + "/oauth/callback?code=forged&state=forged")
    shot(c, "bad-forged-callback")
    st, body = http("GET", app.base + "/oauth/callback")
    check("empty callback: 400", st == 400, st)

    sid = a.get_cookie(COOKIE)["value"]
    st, body = http("POST", app.base + "/status", {"status": "🍕"}, cookie=sid)
    check("emoji outside the list: 400 'Unknown status'", st == 400 and "Unknown status" in body, st)
    st, body = http("POST", app.base + "/status", {"status": "👍👍"}, cookie=sid)
    check("two emoji: 400", st == 400, st)
    st, body = http("POST", app.base + "/status", {"nothing": "x"}, cookie=sid)
    check("status form without a status: 400", st == 400, st)
    st, body = http("POST", app.base + "/status", {"status": "👍"})
    check("status without a session: 401", st == 401, st)
    forged = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa." + sid.rsplit(".", 1)[1]
    st, body = http("GET", app.base + "/", cookie=forged)
    check("forged cookie: treated as signed out", st == 200 and 'id="login-link"' in body, st)
    st, body = http("GET", app.base + "/nope")
    check("unknown page: 404", st == 404, st)
    a.execute_script("""
        const f = document.querySelector('form.status-options');
        const b = document.createElement('button'); b.name = 'status'; b.value = '🍕'; b.id = 'pizza';
        f.appendChild(b); b.click();""")
    wait(a, lambda d: d.find_elements(By.ID, "error-title"))
    shot(a, "bad-emoji-outside-list")
    check("emoji outside the list in the browser: a clear page",
          a.find_element(By.ID, "error-title").text == "Unknown status")
    check("no internal error or panic in the app log",
          not any("request failed" in l or "panicked" in l for l in app.lines))

    # Sign out revokes and forgets the session.
    a.get(app.base + "/")
    a.find_element(By.ID, "logout").click()
    wait(a, lambda d: d.find_elements(By.ID, "login-link"))
    shot(a, "a-signed-out")
    check("sign-out forgets the OAuth session",
          db("SELECT count(*) FROM atmo_oauth_session WHERE did = ?", alice["did"]) == [(0,)])
    st, _ = http("POST", app.base + "/status", {"status": "👍"}, cookie=sid)
    check("the old cookie no longer writes", st == 401, st)


if __name__ == "__main__":
    sys.exit(main())
