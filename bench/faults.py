#!/usr/bin/env python3
"""bench/faults.sh's client: sends the requests of one scenario to a running
pictor, plays the fault with what the script hands it (a command, a PID to
freeze, a disk to fill), and prints the scenario's figures as one markdown
table row. Python's standard library only."""

import argparse
import hashlib
import http.client
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

with open(os.path.join(os.path.dirname(__file__), "..", "crates", "pictor-core", "src", "shop", "sample.jpg"), "rb") as f:
    BASE_JPEG = f.read()
assert BASE_JPEG[:2] == b"\xff\xd8"


def jpeg(n, pad=0):
    """A valid JPEG with bytes of its own: COM segments after SOI carry `n`
    and `pad` filler bytes (so a size can be chosen)."""
    base = BASE_JPEG
    comments = []
    body = f"pictor faults {n} ".encode() + b"." * pad
    for at in range(0, len(body), 65000):
        chunk = body[at : at + 65000]
        comments.append(b"\xff\xfe" + (len(chunk) + 2).to_bytes(2, "big") + chunk)
    return base[:2] + b"".join(comments) + base[2:]


class Server:
    def __init__(self, base, source="127.0.0.1"):
        url = urllib.parse.urlparse(base)
        self.host, self.port, self.source = url.hostname, url.port, source

    def request(self, method, path, body=None, timeout=120):
        """(status, headers, body, seconds); status 0 when the connection failed."""
        started = time.monotonic()
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout, source_address=(self.source, 0))
        try:
            headers = {"content-type": "image/jpeg"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data, time.monotonic() - started
        except OSError:
            return 0, {}, b"", time.monotonic() - started
        finally:
            conn.close()

    def json(self, path):
        status, _, data, _ = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {data[:200]!r}"
        return json.loads(data)


class Log:
    """Answers with when they were asked, from several threads."""

    def __init__(self):
        self.lock, self.rows = threading.Lock(), []

    def add(self, **row):
        with self.lock:
            self.rows.append(row)

    def between(self, start, end):
        return [r for r in self.rows if start <= r["at"] < end]


def statuses(rows):
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return ", ".join(f"{s or 'no answer'}×{n}" for s, n in sorted(counts.items())) or "none"


def problem_codes(rows):
    codes = sorted({r["code"] for r in rows if r.get("code")})
    return ", ".join(codes) or "none"


def upload(server, log, n, pad, stored):
    body = jpeg(n, pad)
    at = time.monotonic()
    status, headers, data, secs = server.request("POST", "/api/v1/img", body)
    code = None
    if status == 201:
        stored.append((json.loads(data)["id"], body))
    elif data.startswith(b"{"):
        code = json.loads(data).get("code")
    log.add(at=at, kind="upload", status=status, secs=secs, code=code, retry_after=headers.get("retry-after"))


def count_images(server):
    count, cursor = 0, ""
    while True:
        page = server.json(f"/api/v1/img?limit=1000{cursor}")
        count += len(page["images"])
        if not page.get("next"):
            return count
        cursor = "&cursor=" + urllib.parse.quote(page["next"])


def wait_processed(server, ids, patience=300):
    deadline = time.monotonic() + patience
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for id in list(pending):
            if server.json(f"/api/v1/img/{id}").get("status") in ("processed", "failed"):
                pending.discard(id)
        time.sleep(0.5)
    return len(ids) - len(pending)


def slowest(rows):
    return f"{max((r['secs'] for r in rows), default=0):.2f} s"


def row(*cells):
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


# --------------------------------------------------------------- scenarios


def postgres(args):
    """An upload or a list every 100 ms; the database goes away for
    `outage` seconds, then comes back."""
    server, log, stored, stop = Server(args.base), Log(), [], threading.Event()

    def client():
        n = 0
        while not stop.is_set():
            n += 1
            if n % 2:
                upload(server, log, n, 0, stored)
            else:
                at = time.monotonic()
                status, headers, data, secs = server.request("GET", "/api/v1/img?limit=5")
                code = json.loads(data).get("code") if data.startswith(b"{") and status != 200 else None
                log.add(at=at, kind="list", status=status, secs=secs, code=code, retry_after=headers.get("retry-after"))
            time.sleep(0.1)

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(5)
    down = time.monotonic()
    subprocess.run(args.down, shell=True, check=True)
    time.sleep(args.outage)
    subprocess.run(args.up, shell=True, check=True)
    up = time.monotonic()
    time.sleep(30)
    stop.set()
    thread.join()
    during = log.between(down, up)
    after = [r for r in log.between(up, float("inf")) if r["status"] in (200, 201)]
    back = f"{after[0]['at'] - up:.1f} s" if after else "never"
    found = sum(server.request("GET", f"/api/v1/img/{id}")[0] == 200 for id, _ in stored)
    processed = wait_processed(server, [id for id, _ in stored])
    no_retry = sum(1 for r in during if r["status"] == 503 and not r["retry_after"])
    row(
        f"PostgreSQL stopped {args.outage} s, a request every 100 ms",
        f"{statuses(during)} ({problem_codes(during)}); {no_retry} without Retry-After",
        slowest(during),
        f"first success {back} after the restart",
        f"{len(stored)} uploads accepted, {found} found, {processed} processed",
    )


def s3(args):
    """Four clients upload 200 KB photos; the S3 server is frozen (SIGSTOP)
    for `outage` seconds, then thawed; the bucket is compared with the
    records once the janitor has had its minute."""
    server, log, stored, stop = Server(args.base), Log(), [], threading.Event()

    def client(first):
        n = first
        while not stop.is_set():
            upload(server, log, n, 200_000, stored)
            n += 1

    threads = [threading.Thread(target=client, args=(i * 1_000_000,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(5)
    down = time.monotonic()
    os.kill(args.pid, signal.SIGSTOP)
    time.sleep(args.outage)
    os.kill(args.pid, signal.SIGCONT)
    up = time.monotonic()
    time.sleep(10)
    stop.set()
    for t in threads:
        t.join()
    during = log.between(down, up)
    whole = sum(server.request("GET", f"/api/v1/img/{id}/original")[2] == body for id, body in stored)
    listed = count_images(server)
    records = {hashlib.sha256(body).hexdigest() for _, body in stored}
    def strays():
        blobs = {name for _, _, names in os.walk(args.bucket) for name in names if len(name) == 64}
        return len(blobs - records), len(records - blobs)
    before = strays()
    time.sleep(args.janitor)
    after = strays()
    row(
        f"S3 server frozen {args.outage} s, 4 uploaders",
        f"{statuses(during)} ({problem_codes(during)}) begun during; {statuses(log.rows)} in all",
        slowest(log.rows),
        f"{len(stored)} landed, {whole} read back whole, {listed} records",
        f"blobs without a record {before[0]} → {after[0]} after the janitor; records without a blob {after[1]}",
    )


def disk(args):
    """The data folder's disk (SQLite and store) filled: uploads until five
    are refused, reads meanwhile, then space freed and one more upload; the
    database checked after the server stops."""
    server, log, stored = Server(args.base), Log(), []
    filler = os.path.join(args.data, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\7" * (64 << 10))
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            pass
    os.truncate(filler, max(0, os.path.getsize(filler) - (1 << 20)))
    n = 0
    while sum(r["status"] != 201 for r in log.rows) < 5 and n < 2000:
        n += 1
        upload(server, log, n, 20_000, stored)
    whole = sum(server.request("GET", f"/api/v1/img/{id}/original")[2] == body for id, body in stored)
    thumbs = sum(server.request("GET", f"/api/v1/img/{id}.webp?thumbnail=64")[0] == 200 for id, _ in stored)
    os.remove(filler)
    again, after = [], Log()
    upload(server, after, 0, 20_000, again)
    os.kill(args.pid, signal.SIGTERM)
    while os.path.exists(f"/proc/{args.pid}"):
        time.sleep(0.1)
    db = sqlite3.connect(os.path.join(args.data, "pictor.db"))
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    records = db.execute("SELECT count(*) FROM images").fetchone()[0]
    row(
        "data folder (SQLite + store) on a full tmpfs",
        f"{statuses(log.rows)} ({problem_codes(log.rows)})",
        f"{whole}/{len(stored)} originals and {thumbs} thumbnails read while full",
        f"after freeing space: {statuses(after.rows)} {problem_codes(after.rows)}",
        f"database {integrity}, {records} records for {len(stored) + len(again)} accepted",
    )


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def slowloris(args):
    """`count` connections that send half a request's headers and wait; a
    client from another loopback address meanwhile."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.count + 1024, args.count + 1024))
    idle_fds = open_fds(args.pid)
    server, socks = Server(args.base), []
    for _ in range(args.count):
        s = socket.create_connection((server.host, server.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: pictor\r\nX-Half: ")
        socks.append(s)
    time.sleep(1)
    peak_fds = open_fds(args.pid)

    def closed(s):
        # Reads what the server sent (a 429 answer) up to its end, if it ended.
        s.setblocking(False)
        try:
            while s.recv(65536):
                pass
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def answered_429(s):
        try:
            return s.recv(64, socket.MSG_PEEK).startswith(b"HTTP/1.1 429")
        except OSError:
            return False

    refused = sum(answered_429(s) for s in socks)
    other = Server(args.base, source="127.0.0.2")
    status, _, _, secs = other.request("GET", "/healthz")
    time.sleep(args.hold)
    still_open = sum(not closed(s) for s in socks)
    after_fds = open_fds(args.pid)
    for s in socks:
        s.close()
    row(
        f"{args.count} connections sending half a request",
        f"{args.count - refused} held, {refused} answered 429 at once",
        f"another client meanwhile: {status} in {secs * 1000:.0f} ms",
        f"still open after {args.hold:.0f} s: {still_open}",
        f"server fds: {idle_fds} idle, {peak_fds} at peak, {after_fds} after",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", choices=["postgres", "s3", "disk", "slowloris"])
    parser.add_argument("--base", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--outage", type=float, default=10)
    parser.add_argument("--down", help="postgres: the command that stops the database")
    parser.add_argument("--up", help="postgres: the command that starts it again")
    parser.add_argument("--pid", type=int, help="s3: the S3 server's PID; disk, slowloris: pictor's")
    parser.add_argument("--bucket", help="s3: the folder s3s-fs keeps the bucket in")
    parser.add_argument("--janitor", type=float, default=70, help="s3: seconds to give the janitor")
    parser.add_argument("--data", help="disk: the data folder on the small disk")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=25)
    args = parser.parse_args()
    {"postgres": postgres, "s3": s3, "disk": disk, "slowloris": slowloris}[args.scenario](args)


if __name__ == "__main__":
    sys.exit(main())
