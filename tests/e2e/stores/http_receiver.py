"""An HTTP receiver for the end-to-end tests of the HTTP sink and of errors
sent to Sentry (a real server on loopback, in a process of its own so a
test can stop it).

Every POST's body is appended to --out (flushed and fsynced before the 200,
so what was acknowledged is on disk); each request's --header (by default
X-Streams-Source) goes to --out.sources, its path to --out.paths, and its
status and wall-clock time ("429 1733412345.123") to --out.answers. The
first --busy POSTs are answered 429 with Retry-After: --retry-after (30 s)
and kept nowhere. A body
with a line containing --reject is refused with 400 and a body naming the
line. Prints "port=N" once listening."""
import argparse
import http.server
import os
import sys
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--out", required=True)
    parser.add_argument("--reject", default="")
    parser.add_argument("--header", default="X-Streams-Source")
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--retry-after", default="30")
    args = parser.parse_args()
    reject = args.reject.encode()
    lock = threading.Lock()
    busy = [args.busy]
    out = open(args.out, "ab")
    sources = open(args.out + ".sources", "a")
    paths = open(args.out + ".paths", "a")
    answers = open(args.out + ".answers", "a")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                refuse, busy[0] = busy[0] > 0, busy[0] - 1
            if refuse:
                return self.answer(429, b"busy", [("Retry-After", args.retry_after)])
            bad = [line for line in body.splitlines() if reject and reject in line]
            if bad:
                return self.answer(400, b"refused row: " + bad[0][:200])
            with lock:
                out.write(body if body.endswith(b"\n") else body + b"\n")
                out.flush()
                os.fsync(out.fileno())
                sources.write(self.headers.get(args.header, "-") + "\n")
                sources.flush()
                paths.write(self.path + "\n")
                paths.flush()
            self.answer(200, b"ok")

        def answer(self, status, text, headers=()):
            with lock:
                answers.write(f"{status} {time.time():.3f}\n")
                answers.flush()
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"port={server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
