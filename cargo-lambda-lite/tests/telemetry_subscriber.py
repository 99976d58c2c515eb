#!/usr/bin/env python3
"""An external extension written against the Extensions and Telemetry APIs as documented, with
nothing of lambda-lite: it registers for INVOKE and SHUTDOWN, subscribes to platform and
function records (schema 2025-01-29, batches of at most 1000 items or 25 ms), writes every
batch it is pushed as one JSON line to $TELEMETRY_LOG, takes $EXTENSION_INVOKE_MS (default 0)
over each INVOKE before it asks for the next event (longer with $EXTENSION_HOLD, below), and
exits after SHUTDOWN."""
import http.server
import json
import os
import threading
import time
import urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
out = os.environ["TELEMETRY_LOG"]
lock = threading.Lock()


class Listener(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        batch = self.rfile.read(int(self.headers["Content-Length"]))
        with lock, open(out, "a") as f:
            f.write(json.dumps(json.loads(batch)) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("0.0.0.0", 0), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()

register = urllib.request.Request(
    api + "/2020-01-01/extension/register", method="POST",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": os.path.basename(__file__)})
with urllib.request.urlopen(register) as r:
    identifier = r.headers["Lambda-Extension-Identifier"]

subscribe = urllib.request.Request(
    api + "/2022-07-01/telemetry", method="PUT",
    data=json.dumps({
        "schemaVersion": "2025-01-29",
        "destination": {"protocol": "HTTP",
                        "URI": f"http://sandbox.localdomain:{server.server_port}"},
        "types": ["platform", "function"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
    }).encode(),
    headers={"Lambda-Extension-Identifier": identifier, "Content-Type": "application/json"})
urllib.request.urlopen(subscribe).read()

while True:
    nxt = urllib.request.Request(api + "/2020-01-01/extension/event/next",
                                 headers={"Lambda-Extension-Identifier": identifier})
    with urllib.request.urlopen(nxt) as r:
        event = json.loads(r.read())
    if event["eventType"] == "SHUTDOWN":
        break
    time.sleep(int(os.environ.get("EXTENSION_INVOKE_MS", "0")) / 1000)
    # $EXTENSION_HOLD: the one INVOKE that finds this file takes it (renamed: one taker) and
    # holds its environment until $EXTENSION_HOLD.release exists.
    hold = os.environ.get("EXTENSION_HOLD")
    if hold:
        try:
            os.rename(hold, hold + f".taken-{os.getpid()}")
            while not os.path.exists(hold + ".release"):
                time.sleep(0.005)
        except FileNotFoundError:
            pass
