#!/usr/bin/env python3
"""A hook receiver for scripts/crash_test.sh, on 127.0.0.1 only: answers 200 after a short
delay (so that deliveries are in flight when the server is killed) and appends each
webhook-id to a file. Usage: hook_receiver.py PORT_FILE IDS_FILE DELAY_SECONDS"""
import http.server
import sys
import threading
import time

port_file, ids_file, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(delay)
        with lock, open(ids_file, "a") as ids:
            ids.write(self.headers.get("webhook-id", "") + "\n")
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
