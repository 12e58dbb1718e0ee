#!/usr/bin/python3
"""chat_test.py: the chat page in real headless Chromium (issue 17).

Starts its own imgated (websocket.demo = true, a free port, anonymous
logins, the admin API without a token on loopback), opens the page it serves
in two Chromium browsers driven by chromedriver (Debian's chromium,
chromium-driver and python3-selenium), logs in as alice and bob and checks,
over ws:// and then over wss:// (certificates from
tests/support/make-test-certs.sh, trusted for this run only by the server
key's SPKI hash):
  - messages both ways, each shown as acknowledged with its msg_id on the
    sender's page and received with the same msg_id on the other;
  - (ws) a group message and the unread badge of a conversation not open;
  - (ws) bob's page reloads, logs in again and its history shows the
    conversation; older pages come with "Load older messages";
  - (ws) a send refused by the server shows the status name (NOT_MEMBER);
  - (ws) the server stops: the page shows that it reconnects, holds a
    message typed meanwhile, and sends it when the server is back;
  - (wss) bob's page reloads and its history shows the conversation;
  - no console error in either browser (a Content-Security-Policy
    violation, a failed load).
Every wait is bounded; everything stays on 127.0.0.1.

  chat_test.py --imgated PATH [--source-dir DIR] [--screenshot PNG] [--keep]

--screenshot writes a picture of alice's page (docs/chat-page.png is made
this way, by hand, not by every run). Runs headless without a display; as
root Chromium needs --no-sandbox, which is added only then.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PACKAGES = "chromium chromium-driver python3-selenium"
WAIT = 20  # seconds: the bound of every wait

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    sys.exit(f"chat_test.py: python3-selenium is missing (Debian's python3 at /usr/bin/python3): "
             f"tools/dev.sh deps {PACKAGES}")


def log(text):
    print(f"chat_test: {text}", flush=True)


def free_port():
    """A port free on 127.0.0.1 a moment ago: imgated's websocket.port 0
    means "no WebSocket listener", so the test picks one."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_imgated(binary, workdir, settings):
    """Imgated on a free port; again if another process took the port first."""
    for attempt in range(1, 4):
        try:
            return Imgated(binary, workdir, dict({"websocket.port": str(free_port())}, **settings))
        except RuntimeError as e:
            if attempt == 3 or "in use" not in str(e):
                raise


class Imgated:
    """imgated on 127.0.0.1 with a generated properties file."""

    def __init__(self, binary, workdir, settings):
        self.binary = binary
        self.settings = settings
        self.workdir = workdir
        # The store's folder closed to other users, as imgated wants it.
        os.makedirs(workdir, mode=0o700, exist_ok=True)
        base = {
            "server.address": "127.0.0.1",
            "server.port": "0",
            "server.ioThreads": "2",
            "auth.allowAnonymous": "true",
            "admin.address": "127.0.0.1",
            "admin.port": "0",
            "admin.allowNoToken": "true",
            "store.path": os.path.join(workdir, "imgate.db"),
            "websocket.demo": "true",
        }
        base.update(settings)
        config = os.path.join(workdir, "imgate.properties")
        with open(config, "w") as f:
            for key, value in base.items():
                f.write(f"{key} = {value}\n")
        self.log_path = os.path.join(workdir, f"imgated-{time.monotonic_ns()}.log")
        with open(self.log_path, "w") as out:
            self.process = subprocess.Popen([binary, f"--config={config}"], stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            text = self.log()
            ws = re.search(r"WebSocket listening on 127\.0\.0\.1:(\d+) \((wss?), path ([^;)]+)", text)
            admin = re.search(r"admin: serving http://([^/]+)/", text)
            if ws and admin:
                break
            if self.process.poll() is not None:
                raise RuntimeError(f"imgated exited ({self.process.returncode}) before listening:\n{text}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"imgated did not log 'WebSocket listening on' within 15 s:\n{text}")
            time.sleep(0.05)
        self.port = int(ws.group(1))
        self.scheme = ws.group(2)
        self.admin = admin.group(1)
        self.page = f"{'https' if self.scheme == 'wss' else 'http'}://127.0.0.1:{self.port}/"

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def put_group(self, gid, members):
        request = urllib.request.Request(f"http://{self.admin}/v1/groups/{gid}", method="PUT",
                                         data=json.dumps({"members": members}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=WAIT) as answer:
            assert answer.status == 200, f"PUT /v1/groups/{gid}: {answer.status}"

    def restart(self):
        """Another imgated in this object, on the same store and port."""
        self.stop()
        self.__init__(self.binary, self.workdir, dict(self.settings, **{"websocket.port": str(self.port)}))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def spki_sha256(cert_path):
    """base64(SHA-256(SubjectPublicKeyInfo)) of a certificate: what
    --ignore-certificate-errors-spki-list takes."""
    pem = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"], check=True,
                         capture_output=True, text=True).stdout
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    return base64.b64encode(hashlib.sha256(base64.b64decode(body)).digest()).decode()


def browser(workdir, name, spki):
    profile = os.path.join(workdir, f"chromium-{name}")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in [
        "--headless=new", "--disable-gpu", "--window-size=1040,760",
        f"--user-data-dir={profile}",
        # The test CA's server key, trusted for this browser only.
        f"--ignore-certificate-errors-spki-list={spki}",
        # No traffic but ours: the machine has no other network.
        "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-default-apps",
        "--disable-extensions", "--disable-dev-shm-usage", "--password-store=basic",
    ]:
        options.add_argument(argument)
    if os.geteuid() == 0:
        # Chromium's sandbox refuses to run as root.
        options.add_argument("--no-sandbox")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=CHROMEDRIVER, log_path=os.path.join(workdir, f"chromedriver-{name}.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_script_timeout(WAIT)
    return driver


def wait(driver, condition, what):
    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(lambda d: condition(d))
    except TimeoutException:
        raise AssertionError(f"timed out after {WAIT} s waiting for {what}") from None


MESSAGES_JS = """
return [...document.querySelectorAll('#messages li')].map(li => ({
    msgId: li.dataset.msgId ? Number(li.dataset.msgId) : 0,
    status: li.dataset.status,
    from: li.dataset.from,
    text: li.querySelector('.text').textContent,
    note: li.querySelector('.status').textContent,
}));
"""


def messages(driver):
    return driver.execute_script(MESSAGES_JS)


def text_of(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def load(driver, url):
    driver.get(url)
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), f"the page at {url}")


def login(driver, uid):
    field = driver.find_element(By.ID, "uid")
    field.clear()
    field.send_keys(uid)
    driver.find_element(By.ID, "login").click()
    wait(driver, lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "online"
         and d.find_element(By.ID, "chat-view").is_displayed(), f"{uid} to be online")
    assert text_of(driver, "whoami") == uid


def open_conversation(driver, kind, peer):
    driver.find_element(By.CSS_SELECTOR, f"#kind option[value='{kind}']").click()
    field = driver.find_element(By.ID, "peer")
    field.clear()
    field.send_keys(peer)
    driver.find_element(By.ID, "open").click()
    key = ("g:" if kind == "group" else "u:") + peer
    wait(driver, lambda d: d.find_element(By.ID, "title").get_attribute("data-key") == key, f"conversation {key} to open")


def send(driver, uid, text):
    """uid sends text in the open conversation; returns its msg_id once the
    page shows it acknowledged."""
    field = driver.find_element(By.ID, "text")
    field.send_keys(text)
    driver.find_element(By.ID, "send").click()
    return send_wait(driver, uid, text)


def send_wait(driver, uid, text):
    """Waits until uid's message text shows acknowledged; returns its msg_id."""
    def acknowledged(d):
        for m in messages(d):
            if m["text"] != text or m["from"] != uid:
                continue
            if m["status"] == "acknowledged" and m["msgId"] > 0:
                return m
            if m["status"] == "failed":
                raise AssertionError(f"sending {text!r} failed: {m['note']}")
        return None

    m = wait(driver, acknowledged, f"{text!r} to be acknowledged")
    assert m["note"] == f"✓ stored, msg_id {m['msgId']}", m["note"]
    return m["msgId"]


def wait_received(driver, text, msg_id, sender):
    def received(d):
        return any(m["text"] == text and m["msgId"] == msg_id and m["from"] == sender and m["status"] == "received"
                   for m in messages(d))
    wait(driver, received, f"{text!r} (msg_id {msg_id}) from {sender} to show")


def console_errors(driver):
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def exchange(alice, bob, server, tag, with_group, screenshot):
    for driver in (alice, bob):
        driver.get_log("browser")  # what an earlier run left
    load(alice, server.page)
    load(bob, server.page)
    login(alice, "alice")
    login(bob, "bob")
    log(f"{tag}: alice and bob online at {server.page}")

    if with_group:
        server.put_group("team", ["alice", "bob"])
        open_conversation(alice, "group", "team")
        group_text = f"Morning, team ({tag})"
        group_id = send(alice, "alice", group_text)
        # bob has no conversation open: the group shows up with an unread badge.
        wait(bob, lambda d: d.execute_script(
            "const li = document.querySelector(\"#conversations li[data-key='g:team']\");"
            "return li && li.querySelector('.unread') && li.querySelector('.unread').textContent === '1';"),
            "bob's unread badge on g:team")
        bob.find_element(By.CSS_SELECTOR, "#conversations li[data-key='g:team'] button").click()
        wait_received(bob, group_text, group_id, "alice")
        log(f"{tag}: group message {group_id} from alice shown to bob")

    open_conversation(alice, "user", "bob")
    open_conversation(bob, "user", "alice")
    first = f"Hi Bob! This is Alice, over {tag}."
    first_id = send(alice, "alice", first)
    wait_received(bob, first, first_id, "alice")
    second = f"Hello Alice, Bob here. Grüße back over {tag}"
    second_id = send(bob, "bob", second)
    wait_received(alice, second, second_id, "bob")
    assert second_id > first_id
    log(f"{tag}: alice -> bob msg_id {first_id}, bob -> alice msg_id {second_id}")
    expected = [(first_id, "alice", first), (second_id, "bob", second)]

    if screenshot:
        third = "Lunch at noon? The usual place."
        expected.append((send(alice, "alice", third), "alice", third))
        wait_received(bob, third, expected[-1][0], "alice")
        alice.save_screenshot(screenshot)
        log(f"{tag}: screenshot of alice's page in {screenshot}")

    older = 0
    if with_group:
        # More than one HISTORY page (30) in the conversation.
        for i in range(1, 33):
            expected.append((send(alice, "alice", f"note {i}"), "alice", f"note {i}"))
        older = 1
        wait_received(bob, "note 32", expected[-1][0], "alice")

    bob.refresh()
    wait(bob, lambda d: d.execute_script("return document.body.dataset.ready === 'true'"), "bob's page to reload")
    assert bob.find_element(By.ID, "uid").get_attribute("value") == "bob", "the reloaded page remembers the uid"
    login(bob, "bob")
    wait(bob, lambda d: d.find_element(By.ID, "title").get_attribute("data-key") == "u:alice",
         "bob's page to reopen the conversation with alice")
    for _ in range(older):
        wait(bob, lambda d: d.find_element(By.ID, "older").is_displayed(), "the 'Load older messages' button")
        shown = len(messages(bob))
        assert shown == 30, f"the first HISTORY page shows 30 messages, not {shown}"
        bob.find_element(By.ID, "older").click()

    def history_shown(d):
        got = [(m["msgId"], m["from"], m["text"]) for m in messages(d)]
        return got == expected

    try:
        wait(bob, history_shown, "bob's history to show the whole conversation")
    except AssertionError:
        raise AssertionError(f"bob's history after the reload: {messages(bob)}\nexpected: {expected}") from None
    assert not bob.find_element(By.ID, "older").is_displayed(), "no older messages are left"
    log(f"{tag}: after the reload bob's history shows all {len(expected)} messages in order")

    if with_group:
        # A refusal shows its status name.
        open_conversation(alice, "group", "nowhere")
        alice.find_element(By.ID, "text").send_keys("anyone here?")
        alice.find_element(By.ID, "send").click()
        refused = wait(alice, lambda d: next((m for m in messages(d) if m["status"] == "failed"), None),
                       "the send to a group alice is not in to fail")
        assert refused["note"] == "failed: NOT_MEMBER Retry", refused["note"]
        log(f"{tag}: a send to a group alice is not in shows '{refused['note']}'")

    for name, driver in (("alice", alice), ("bob", bob)):
        errors = console_errors(driver)
        assert not errors, f"{name}'s console: {errors}"


def outage(alice, bob, server, tag):
    """The server stops: the page says it reconnects, holds a message typed
    meanwhile, and sends it once the server is back."""
    open_conversation(alice, "user", "bob")
    server.stop()
    wait(alice, lambda d: d.find_element(By.ID, "connection").get_attribute("data-state") == "reconnecting"
         and d.find_element(By.ID, "connection").text.startswith("reconnecting in "), "alice's page to show the reconnect")
    log(f"{tag}: server stopped; alice's page shows '{text_of(alice, 'connection')}'")
    text = "Sent while the server was down"
    alice.find_element(By.ID, "text").send_keys(text)
    alice.find_element(By.ID, "send").click()
    held = wait(alice, lambda d: next((m for m in messages(d) if m["text"] == text), None), "the held message to show")
    assert held["status"] == "sending" and held["note"] == "waiting for the connection…", held
    server.restart()
    msg_id = send_wait(alice, "alice", text)
    wait_received(bob, text, msg_id, "alice")
    log(f"{tag}: server back on port {server.port}; the held message went as msg_id {msg_id} and reached bob")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imgated", required=True)
    parser.add_argument("--source-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser.add_argument("--screenshot", help="write a PNG of alice's page here (ws run)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs) for a look")
    args = parser.parse_args()

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            sys.exit(f"chat_test.py: {path} is missing: tools/dev.sh deps {PACKAGES}")

    workdir = tempfile.mkdtemp(prefix="imgate-browser-")
    certs = os.path.join(workdir, "certs")
    subprocess.run(["bash", os.path.join(args.source_dir, "tests/support/make-test-certs.sh"), certs], check=True)
    spki = spki_sha256(os.path.join(certs, "server.pem"))
    alice = bob = server = None
    passed = failed = 0
    try:
        alice = browser(workdir, "alice", spki)
        bob = browser(workdir, "bob", spki)
        log(f"{alice.capabilities.get('browserVersion')} headless, chromedriver "
            f"{alice.capabilities.get('chrome', {}).get('chromedriverVersion', '?').split(' ')[0]}")
        runs = [
            ("ws://", {}, True, args.screenshot),
            ("wss://", {"websocket.tls": "true",
                        "tls.certificateFile": os.path.join(certs, "server.pem"),
                        "tls.privateKeyFile": os.path.join(certs, "server.key")}, False, None),
        ]
        for tag, settings, with_group, screenshot in runs:
            server = start_imgated(args.imgated, os.path.join(workdir, tag.rstrip(":/")), settings)
            expected_scheme = "wss" if settings else "ws"
            assert server.scheme == expected_scheme, f"imgated serves {server.scheme}, not {expected_scheme}"
            try:
                exchange(alice, bob, server, tag, with_group, screenshot)
                if with_group:
                    outage(alice, bob, server, tag)
                for driver in (alice, bob):
                    # Off the page before its server stops, or it would try to reconnect.
                    driver.get("about:blank")
                passed += 1
            except Exception as e:
                failed += 1
                log(f"{tag}: FAILED: {e}")
                log(f"{tag}: imgated log:\n{server.log()}")
            finally:
                server.stop()
                server = None
    finally:
        for driver in (alice, bob):
            if driver is not None:
                driver.quit()
        if server is not None:
            server.stop()
        if args.keep:
            log(f"scratch folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 and passed == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
