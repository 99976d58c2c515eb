#!/usr/bin/env python3
"""A custom runtime that does what lambda-lite never does, to hold the local Runtime API to
Lambda's behaviour. The event (a JSON string) says what to do:

- "chunked": answers with a chunked POST that is not a response stream;
- "late-init-error": posts /runtime/init/error after the init, and answers with its status;
- "cut": starts a chunked answer and closes the connection before its last chunk;
- "no-next": answers, then never asks for another event;
- "wrong-id": posts an answer, whole and chunked, and an error to an invocation that is not
  running, then answers with the three statuses;
- anything else: answers with the event.
"""
import http.client
import json
import os
import socket
import time

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
base = "/2018-06-01/runtime"


def call(method, path, body=None, headers=None):
    c = http.client.HTTPConnection(host, int(port))
    c.request(method, base + path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


while True:
    r, event = call("GET", "/invocation/next")
    rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
    command = json.loads(event)
    if command == "chunked":
        c = http.client.HTTPConnection(host, int(port))
        c.putrequest("POST", f"{base}/invocation/{rid}/response")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for piece in [b'"chunked ', b'answer"']:
            c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        c.send(b"0\r\n\r\n")
        c.getresponse().read()
        c.close()
        continue
    if command == "late-init-error":
        r, _ = call("POST", "/init/error", b'{"errorType":"Late","errorMessage":"too late"}',
                    {"Lambda-Runtime-Function-Error-Type": "Runtime.Late"})
        answer = json.dumps(f"init/error {r.status}")
        call("POST", f"/invocation/{rid}/response", answer.encode())
        continue
    if command == "wrong-id":
        statuses = [call("POST", "/invocation/not-running/response", b'"x"')[0].status]
        c = http.client.HTTPConnection(host, int(port))
        c.putrequest("POST", f"{base}/invocation/not-running/response")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        c.send(b"3\r\n\"x\"\r\n0\r\n\r\n")
        statuses.append(c.getresponse().status)
        c.close()
        statuses.append(call("POST", "/invocation/not-running/error", b"{}")[0].status)
        call("POST", f"/invocation/{rid}/response", json.dumps(f"wrong-id {statuses}").encode())
        continue
    if command == "cut":
        s = socket.create_connection((host, int(port)))
        s.sendall(f"POST {base}/invocation/{rid}/response HTTP/1.1\r\nHost: x\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n5\r\npart".encode())
        s.close()
        continue
    call("POST", f"/invocation/{rid}/response", event)
    if command == "no-next":
        time.sleep(3600)
