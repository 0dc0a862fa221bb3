#!/usr/bin/python3
"""bench/serve_soak.py — the soak benchmark of `genreid serve` (run it through bench/serve-soak).

Starts BIN serve --port P (the default configuration otherwise) on a free 127.0.0.1 port, then:
  1. soak: DURATION s of mixed valid and invalid requests from a few concurrent clients, the
     server's RSS and thread count sampled every second;
  2. slowloris: SLOW_N connections that stay idle or send half a request and stall, while a normal
     client keeps asking (health, page, predictions): its answers and latency;
  3. SIGTERM under load: clients keep predictions running and queued, the server gets SIGTERM;
     every request in flight must be answered and the server must exit 0 within its drain time.
Writes OUT/rss.csv, OUT/rss.png, OUT/serve.log (the server's stderr), OUT/summary.txt and
OUT/results.json; prints the summary table; exits 1 when a check fails.

Only 127.0.0.1 is contacted. Standard library + numpy + matplotlib (Debian python3-matplotlib).
"""
import argparse
import glob
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

WARMUP_S = 60          # RSS "after warm-up" is measured from here ...
RSS_GROWTH_MAX = 0.05  # ... and the end may be at most 5 % above it
DRAIN_S = 60           # genreid serve's default drain time (serve_config.drain_timeout_s)
MAX_UPLOAD = 50 << 20  # its default upload limit
REQ_TIMEOUT_S = 90     # a request without an answer by then counts as an error


# ------------------------------------------------------------------ a small HTTP/1.1 client

class HttpError(Exception):
    pass


def recv_response(sock, deadline):
    """Reads one response; returns (status, headers{lower: value}, body). EOF before a status line
    raises HttpError('closed')."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise HttpError("timeout")
        if not chunk:
            raise HttpError("closed" if not buf else "truncated header")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HttpError("bad status line %r" % lines[0][:60])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                raise HttpError("timeout in body")
            if not chunk:
                raise HttpError("truncated body")
            rest += chunk
        body = rest[:n]
    else:   # MHD answers its own errors without a length and closes
        body = rest
        while True:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            body += chunk
        headers["connection"] = "close"
    return status, headers, body


def build(method, path, body=None, ctype=None, extra=()):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if ctype:
        h.append("Content-Type: " + ctype)
    if body is not None:
        h.append("Content-Length: %d" % len(body))
    h.extend(extra)
    return ("\r\n".join(h) + "\r\n\r\n").encode("latin-1") + (body or b"")


def multipart(data, filename, ctype, field="file"):
    b = "soak%016x" % random.getrandbits(64)
    body = ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n"
            % (b, field, filename, ctype)).encode() + data + ("\r\n--%s--\r\n" % b).encode()
    return body, "multipart/form-data; boundary=" + b


class Conn:
    """One keep-alive connection, reopened when the server closes it."""

    def __init__(self, port):
        self.port = port
        self.sock = None

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock = None

    def request(self, raw, fresh=False, send_all=True, half_close=False):
        """Sends raw bytes, returns (status, headers, body). fresh: on a new connection, closed after.
        send_all=False: a send error after the server answered early is not an error. half_close:
        shut the write side after sending (a malformed request then ends at once, not at the
        server's idle timeout)."""
        if fresh or self.sock is None:
            self.close()
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        deadline = time.monotonic() + REQ_TIMEOUT_S
        try:
            try:
                self.sock.settimeout(REQ_TIMEOUT_S)
                self.sock.sendall(raw)
                if half_close:
                    self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                if send_all:
                    raise
            r = recv_response(self.sock, deadline)
        except BaseException:
            self.close()
            raise
        if fresh or r[1].get("connection", "").lower() == "close":
            self.close()
        return r


# ------------------------------------------------------------------ the request mix

def load_inputs(root):
    pngs = sorted(glob.glob(os.path.join(root, "examples/images/*.png")))
    oggs = sorted(glob.glob(os.path.join(root, "examples/audio/*/*.ogg")))
    if not pngs or not oggs:
        sys.exit("serve-soak: examples/images/*.png or examples/audio/*/*.ogg missing (run from the repo root)")
    return ([(os.path.basename(p), open(p, "rb").read()) for p in pngs],
            [(os.path.basename(p), open(p, "rb").read()) for p in oggs])


def valid_requests(pngs, oggs, example_names):
    """(weight, name, fn() -> raw bytes, expected statuses)."""
    def png():
        n, d = random.choice(pngs)
        return build("POST", "/api/predict?filename=" + n, d, "image/png")

    def ogg_multipart():
        n, d = random.choice(oggs)
        body, ct = multipart(d, n, "audio/ogg")
        return build("POST", "/api/predict", body, ct)

    def ogg_raw():
        n, d = random.choice(oggs)
        return build("POST", "/api/predict?filename=" + n, d, "audio/ogg")

    def png_multipart():
        n, d = random.choice(pngs)
        body, ct = multipart(d, n, "image/png")
        return build("POST", "/api/predict", body, ct)

    def spectrogram():
        n, d = random.choice(oggs)
        return build("POST", "/api/spectrogram?filename=" + n, d, "audio/ogg")

    def get(path):
        return lambda: build("GET", path)

    reqs = [(6, "POST predict png", png, {200}), (2, "POST predict png multipart", png_multipart, {200}),
            (3, "POST predict ogg multipart", ogg_multipart, {200}), (2, "POST predict ogg raw", ogg_raw, {200}),
            (1, "POST spectrogram ogg", spectrogram, {200}),
            (2, "GET /", get("/"), {200}), (1, "GET /page.js", get("/page.js"), {200}),
            (2, "GET /api/health", get("/api/health"), {200}), (1, "GET /api/model", get("/api/model"), {200}),
            (1, "GET /api/examples", get("/api/examples"), {200})]
    for n in example_names:
        reqs.append((1, "GET /api/examples/NAME", get("/api/examples/" + n), {200}))
    return reqs


def invalid_requests(pngs):
    """(weight, name, fn() -> raw, expected statuses, how) — how: 'keep' (keep-alive is fine),
    'fresh' (own connection), 'half' (own connection, write side shut after sending), 'early'
    (the server may answer before the body is sent). None in the statuses: closing without an
    answer is right too (MHD does so for some malformed requests). 505 is the right answer to an
    unknown HTTP version, so only a 5xx outside the expected set counts as a server fault."""
    png = pngs[0][1]

    def garbage():
        return build("POST", "/api/predict", os.urandom(random.randint(1, 4000)), "image/png")

    def garbage_octet():
        return build("POST", "/api/predict", os.urandom(2000), "application/octet-stream")

    def truncated():
        return build("POST", "/api/predict?filename=cut.png", png[:random.randint(20, len(png) - 1)], "image/png")

    def png_header_only():
        return build("POST", "/api/predict", png[:8], "image/png")

    def text():
        return build("POST", "/api/predict", b"hello, not music", "text/plain")

    def json_ct():
        return build("POST", "/api/predict", b"{\"file\": 1}", "application/json")

    def no_ct():
        return build("POST", "/api/predict", png)

    def mp_no_boundary():
        return build("POST", "/api/predict", b"--x\r\n\r\n", "multipart/form-data")

    def mp_truncated():
        body, ct = multipart(png, "a.png", "image/png")
        return build("POST", "/api/predict", body[:len(body) // 2], ct)

    def mp_text_part():
        body, ct = multipart(b"just text", "a.txt", "text/plain")
        return build("POST", "/api/predict", body, ct)

    def empty():
        return build("POST", "/api/predict", b"", "image/png")

    def oversize_header():   # Content-Length over the limit, body never sent: answered at once
        return ("POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                "Content-Length: %d\r\n\r\n" % (MAX_UPLOAD + 4096)).encode()

    def oversize_chunked():  # a real stream past the limit
        chunk = b"%x\r\n" % (1 << 20) + b"\x00" * (1 << 20) + b"\r\n"
        return (b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 51 + b"0\r\n\r\n")

    def malformed_line():
        return random.choice([b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                              b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 8,
                              b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
                              b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"])

    def bad_path():
        return build("GET", random.choice(["/nope", "/api/nope", "/api/examples/../../etc/passwd",
                                           "/api/examples/%2e%2e%2fx", "/" + "x" * 150]))

    def wrong_method():
        return random.choice([build("POST", "/api/health", b"x", "image/png"), build("DELETE", "/"),
                              build("GET", "/api/predict"), build("PUT", "/api/spectrogram", b"x", "image/png")])

    return [(4, "garbage png", garbage, {400}, "keep"), (1, "garbage octet-stream", garbage_octet, {400}, "keep"),
            (3, "truncated png", truncated, {400}, "keep"), (1, "png magic only", png_header_only, {400}, "keep"),
            (2, "text/plain", text, {415}, "keep"), (1, "application/json", json_ct, {415}, "keep"),
            (1, "no Content-Type", no_ct, {415}, "keep"), (1, "multipart without boundary", mp_no_boundary, {400}, "keep"),
            (2, "multipart truncated", mp_truncated, {400}, "keep"), (1, "multipart text part", mp_text_part, {415}, "keep"),
            (1, "empty body", empty, {400}, "keep"), (2, "oversize Content-Length", oversize_header, {413}, "fresh"),
            (0.05, "oversize chunked stream", oversize_chunked, {413}, "early"),
            (3, "malformed HTTP", malformed_line, {400, 413, 414, 431, 505, None}, "half"),
            (3, "bad path", bad_path, {404}, "keep"), (2, "wrong method", wrong_method, {405}, "keep")]


def pick(reqs):
    total = sum(r[0] for r in reqs)
    x = random.uniform(0, total)
    for r in reqs:
        x -= r[0]
        if x <= 0:
            return r
    return reqs[-1]


# ------------------------------------------------------------------ bookkeeping

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_name = {}      # name -> {"n", "ok", "statuses": {}, "errors": {}, "lat": []}
        self.per_second = {}   # int(t) -> [valid, invalid]
        self.valid_n = self.valid_bad = self.invalid_n = self.invalid_5xx = self.invalid_unexpected = 0
        self.valid_lat = []

    def add(self, t, valid, name, status, err, ms, ok, expect):
        with self.lock:
            d = self.by_name.setdefault(name, {"valid": valid, "n": 0, "ok": 0, "statuses": {}, "errors": {}, "lat": []})
            d["n"] += 1
            d["ok"] += ok
            if status is not None:
                d["statuses"][status] = d["statuses"].get(status, 0) + 1
            if err:
                d["errors"][err] = d["errors"].get(err, 0) + 1
            d["lat"].append(ms)
            ps = self.per_second.setdefault(int(t), [0, 0])
            if valid:
                self.valid_n += 1
                self.valid_bad += not ok
                self.valid_lat.append(ms)
                ps[0] += 1
            else:
                self.invalid_n += 1
                self.invalid_5xx += status is not None and status >= 500 and status not in expect
                self.invalid_unexpected += not ok
                ps[1] += 1


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def client_loop(port, stop, stats, reqs, valid, t0, rng_seed):
    random.seed(rng_seed)
    conn = Conn(port)
    while not stop.is_set():
        r = pick(reqs)
        name, fn, expect = r[1], r[2], r[3]
        how = r[4] if len(r) > 4 else "keep"
        raw = fn()
        t = time.monotonic()
        status, err = None, None
        try:
            status, _, _ = conn.request(raw, fresh=how != "keep", send_all=how != "early", half_close=how == "half")
        except HttpError as e:
            err = str(e)
        except OSError as e:
            err = type(e).__name__
        ms = (time.monotonic() - t) * 1000
        if valid:
            ok = status in expect
        else:
            # a malformed request may be closed without an answer; an early answer may be lost to
            # the reset of the unread upload: neither is a server fault
            ok = status in expect or (status is None and (None in expect or how == "early")
                                      and err in ("closed", "ConnectionResetError", "BrokenPipeError"))
        stats.add(t - t0, valid, name, status, err, ms, ok, expect)
    conn.close()


def rss_sampler(pid, stop, samples, t0):
    while not stop.is_set():
        try:
            rss = thr = None
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) / 1024.0
                    elif line.startswith("Threads:"):
                        thr = int(line.split()[1])
            nfd = len(os.listdir("/proc/%d/fd" % pid))
            if rss is not None:
                samples.append((time.monotonic() - t0, rss, thr, nfd))
        except (OSError, ValueError):
            pass
        stop.wait(1.0)


def wait_health(port, proc, secs=30):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        try:
            s, _, _ = Conn(port).request(build("GET", "/api/health"), fresh=True)
            if s == 200:
                return True
        except (OSError, HttpError):
            pass
        time.sleep(0.1)
    return False


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ------------------------------------------------------------------ phases

def phase_soak(port, duration, n_valid, n_invalid, pngs, oggs, names, stats, t0):
    stop = threading.Event()
    vreq = valid_requests(pngs, oggs, names)
    ireq = invalid_requests(pngs)
    th = [threading.Thread(target=client_loop, args=(port, stop, stats, vreq, True, t0, 1000 + i)) for i in range(n_valid)]
    th += [threading.Thread(target=client_loop, args=(port, stop, stats, ireq, False, t0, 2000 + i))
           for i in range(n_invalid)]
    for t in th:
        t.start()
    end = time.monotonic() + duration
    last = time.monotonic()
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        if time.monotonic() - last >= 60:
            last = time.monotonic()
            with stats.lock:
                print("serve-soak: %4.0f s  valid %d (%d bad)  invalid %d (%d 5xx)" % (
                    time.monotonic() - t0, stats.valid_n, stats.valid_bad, stats.invalid_n, stats.invalid_5xx),
                    flush=True)
    stop.set()
    for t in th:
        t.join()


def phase_slowloris(port, n_slow, hold_s, pngs):
    """n_slow connections (a third idle, a third half a header, a third headers + half a body) stay
    open while a normal client keeps asking; returns a dict of results."""
    partial = [None, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a",
               b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
               + pngs[0][1][:500]]
    socks, open_err = [], 0
    for i in range(n_slow):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            if partial[i % 3]:
                s.sendall(partial[i % 3])
            socks.append(s)
        except OSError:
            open_err += 1
    time.sleep(1.0)   # the server has accepted them all
    lat = {"GET /api/health": [], "GET /": [], "POST predict png": [], "POST predict ogg": []}
    bad = []
    conn = Conn(port)
    end = time.monotonic() + hold_s
    png = pngs[0][1]
    while time.monotonic() < end:
        for name, raw in (("GET /api/health", build("GET", "/api/health")), ("GET /", build("GET", "/")),
                          ("POST predict png", build("POST", "/api/predict", png, "image/png"))):
            t = time.monotonic()
            try:
                st, _, _ = conn.request(raw, fresh=True)   # a new connection each time: the hard case
            except (OSError, HttpError) as e:
                st = "%s" % e
            lat[name].append((time.monotonic() - t) * 1000)
            if st != 200:
                bad.append((name, st))
        time.sleep(0.2)
    # the slow ones are still there (not cut before timeout_s): count those still open
    still_open = 0
    for s in socks:
        s.setblocking(False)
        try:
            still_open += s.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
        s.close()
    del lat["POST predict ogg"]
    n = sum(len(v) for v in lat.values())
    return {"slow_connections": n_slow, "open_errors": open_err, "still_open_at_end": still_open,
            "hold_s": hold_s, "normal_requests": n, "normal_failed": len(bad), "failures": bad[:10],
            "latency_ms": {k: {"p50": pct(v, 50), "max": max(v) if v else float("nan"), "n": len(v)}
                           for k, v in lat.items()}}


def phase_sigterm(proc, port, pngs, oggs, n_clients=8, load_s=4.0):
    """n_clients keep valid predictions going (more than the 2 slots: some are queued), then
    SIGTERM. Every request in flight at that moment must be answered; returns a dict."""
    lock = threading.Lock()
    stop = threading.Event()
    records = []   # (t_start, t_end, status, err)

    def client(i):
        random.seed(3000 + i)
        conn = Conn(port)
        while not stop.is_set():
            if random.random() < 0.6:
                raw = build("POST", "/api/predict", pngs[0][1], "image/png")
            else:
                n, d = random.choice(oggs)
                body, ct = multipart(d, n, "audio/ogg")
                raw = build("POST", "/api/predict", body, ct)
            t = time.monotonic()
            st, err = None, None
            try:
                st, _, _ = conn.request(raw)
            except HttpError as e:
                err = str(e)
            except OSError as e:
                err = type(e).__name__
            with lock:
                records.append((t, time.monotonic(), st, err))
        conn.close()

    th = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    for t in th:
        t.start()
    time.sleep(load_s)
    stop.set()          # no client starts a request after this ...
    t_kill = time.monotonic()
    proc.send_signal(signal.SIGTERM)   # ... so every request not yet answered is in flight
    refused = None
    time.sleep(0.2)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        refused = False
    except OSError:
        refused = True
    try:
        rc = proc.wait(timeout=DRAIN_S + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = proc.wait()
    t_exit = time.monotonic() - t_kill
    for t in th:
        t.join()
    inflight = [r for r in records if r[0] < t_kill and r[1] >= t_kill]
    answered = [r for r in inflight if r[2] is not None]
    ok200 = [r for r in inflight if r[2] == 200]
    before = [r for r in records if r[1] < t_kill]
    return {"clients": n_clients, "requests_before": len(before), "before_ok": sum(r[2] == 200 for r in before),
            "in_flight": len(inflight), "in_flight_answered": len(answered), "in_flight_200": len(ok200),
            "in_flight_statuses": sorted(set(str(r[2] if r[2] is not None else r[3]) for r in inflight)),
            "last_answer_after_s": max([r[1] - t_kill for r in inflight] or [0]),
            "new_connection_refused": refused, "exit_code": rc, "exit_after_s": t_exit}


# ------------------------------------------------------------------ report

def plot(out, samples, marks, warm_rss, end_rss, per_second, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    a = np.array([(s[0], s[1], s[2] or 0, s[3]) for s in samples])
    fig, ax = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 1.3]})
    ax[0].plot(a[:, 0], a[:, 1], color="tab:blue", lw=1.2, label="RSS")
    ax[0].axhline(warm_rss, color="tab:green", ls="--", lw=1, label="after warm-up %.1f MiB" % warm_rss)
    ax[0].axhline(warm_rss * (1 + RSS_GROWTH_MAX), color="tab:red", ls=":", lw=1,
                  label="bound +%.0f %% (%.1f MiB)" % (100 * RSS_GROWTH_MAX, warm_rss * (1 + RSS_GROWTH_MAX)))
    ax[0].set_ylabel("server RSS (MiB)")
    lo = min(a[:, 1].min(), warm_rss) * 0.9
    hi = max(a[:, 1].max(), warm_rss * (1 + RSS_GROWTH_MAX)) * 1.08
    ax[0].set_ylim(lo, hi)
    ax[0].legend(loc="lower right", fontsize=8)
    ax[0].set_title(title, fontsize=10)
    ax[1].plot(a[:, 0], a[:, 2], color="tab:purple", lw=1, label="threads")
    ax[1].plot(a[:, 0], a[:, 3], color="tab:orange", lw=1, label="open fds")
    ax[1].set_ylabel("count")
    ax[1].legend(loc="upper left", fontsize=8)
    if per_second:
        ts = np.array(sorted(per_second))
        ax[2].plot(ts, [per_second[t][0] for t in ts], lw=0.8, color="tab:blue", label="valid")
        ax[2].plot(ts, [per_second[t][1] for t in ts], lw=0.8, color="tab:gray", label="invalid")
        ax[2].legend(loc="upper left", fontsize=8)
    ax[2].set_ylabel("requests/s")
    ax[2].set_xlabel("time since start (s)")
    for name, (t0, t1) in marks.items():
        for x in ax:
            x.axvspan(t0, t1, color={"warm-up": "#eeeeee", "slowloris": "#fde0c5", "SIGTERM": "#f9c0c0"}.get(name, "#ffffff"),
                      zorder=0)
        ax[0].text((t0 + t1) / 2, hi * 0.985, name, ha="center", va="top", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "rss.png"), dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/genreid")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--out", default="build/soak")
    ap.add_argument("--valid-clients", type=int, default=4)
    ap.add_argument("--invalid-clients", type=int, default=2)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--slow-hold", type=float, default=15)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    root = os.getcwd()
    pngs, oggs = load_inputs(root)
    random.seed(1)

    port = free_port()
    log = open(os.path.join(args.out, "serve.log"), "wb")
    cmd = [args.bin, "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    if not wait_health(port, proc):
        proc.kill()
        sys.exit("serve-soak: %s did not answer /api/health (see %s/serve.log)" % (" ".join(cmd), args.out))
    t0 = time.monotonic()
    print("serve-soak: %s (pid %d), %.0f s soak, %d valid + %d invalid clients, output in %s" % (
        " ".join(cmd), proc.pid, args.duration, args.valid_clients, args.invalid_clients, args.out), flush=True)
    st, _, body = Conn(port).request(build("GET", "/api/examples"), fresh=True)
    names = [e["name"] for e in json.loads(body)] if st == 200 else []

    samples, stop_rss = [], threading.Event()
    sampler = threading.Thread(target=rss_sampler, args=(proc.pid, stop_rss, samples, t0))
    sampler.start()
    stats = Stats()
    phase_soak(port, args.duration, args.valid_clients, args.invalid_clients, pngs, oggs, names, stats, t0)
    t_soak_end = time.monotonic() - t0
    soak_samples = [s for s in samples if s[0] <= t_soak_end]
    warm = [s[1] for s in soak_samples if WARMUP_S <= s[0] < WARMUP_S + 30] or [soak_samples[0][1]]
    tail = [s[1] for s in soak_samples if s[0] >= t_soak_end - 30] or [soak_samples[-1][1]]
    warm_rss, end_rss = sorted(warm)[len(warm) // 2], sorted(tail)[len(tail) // 2]
    peak_rss = max(s[1] for s in soak_samples)
    growth = end_rss / warm_rss - 1
    after = [s for s in soak_samples if s[0] >= WARMUP_S]
    slope = float("nan")
    if len(after) > 10:
        import numpy as np
        x = np.array([s[0] for s in after])
        y = np.array([s[1] for s in after])
        slope = float(np.polyfit(x, y, 1)[0]) * 3600   # MiB per hour

    print("serve-soak: slowloris phase (%d slow connections, %.0f s)" % (args.slow, args.slow_hold), flush=True)
    t_slow0 = time.monotonic() - t0
    slow = phase_slowloris(port, args.slow, args.slow_hold, pngs)
    t_slow1 = time.monotonic() - t0
    threads_peak_slow = max([s[2] or 0 for s in samples if t_slow0 <= s[0] <= t_slow1] or [0])
    time.sleep(1)
    print("serve-soak: SIGTERM phase", flush=True)
    t_sig0 = time.monotonic() - t0
    term = phase_sigterm(proc, port, pngs, oggs)
    t_sig1 = time.monotonic() - t0
    stop_rss.set()
    sampler.join()
    log.close()

    # ---- checks
    checks = []

    def check(name, ok, value):
        checks.append((name, bool(ok), value))

    v_errs = {}
    for n, d in stats.by_name.items():
        if d["valid"]:
            for k, c in list(d["statuses"].items()) + list(d["errors"].items()):
                if k != 200:
                    v_errs["%s: %s" % (n, k)] = c
    check("valid requests: 0 non-2xx / socket errors", stats.valid_bad == 0,
          "%d of %d bad%s" % (stats.valid_bad, stats.valid_n, (" " + json.dumps(v_errs)) if v_errs else ""))
    check("invalid requests: no 5xx (505 to HTTP/9.9 aside)", stats.invalid_5xx == 0,
          "%d of %d" % (stats.invalid_5xx, stats.invalid_n))
    check("RSS end vs after warm-up < +%.0f %%" % (100 * RSS_GROWTH_MAX), growth < RSS_GROWTH_MAX,
          "%.1f -> %.1f MiB (%+.1f %%; peak %.1f; trend %+.1f MiB/h)" % (warm_rss, end_rss, 100 * growth, peak_rss, slope))
    sl = slow["latency_ms"]
    check("slowloris: normal requests answered 200", slow["normal_failed"] == 0 and slow["open_errors"] == 0,
          "%d/%d ok next to %d slow connections (%d still open at the end); p50/max ms: %s" % (
              slow["normal_requests"] - slow["normal_failed"], slow["normal_requests"], slow["slow_connections"],
              slow["still_open_at_end"],
              ", ".join("%s %.0f/%.0f" % (k, v["p50"], v["max"]) for k, v in sl.items())))
    check("SIGTERM: in-flight requests answered 200", term["in_flight"] > 0 and term["in_flight_200"] == term["in_flight"],
          "%d/%d in flight answered 200 (%s), last %.2f s after SIGTERM; new connection refused: %s" % (
              term["in_flight_200"], term["in_flight"], ",".join(term["in_flight_statuses"]),
              term["last_answer_after_s"], term["new_connection_refused"]))
    check("SIGTERM: exit 0 within the %d-s drain" % DRAIN_S, term["exit_code"] == 0 and term["exit_after_s"] <= DRAIN_S,
          "exit %s after %.2f s" % (term["exit_code"], term["exit_after_s"]))

    lat = stats.valid_lat
    title = ("genreid serve soak: %.0f s, %d valid (%d bad) + %d invalid requests; RSS %.1f -> %.1f MiB (%+.1f %%)"
             % (args.duration, stats.valid_n, stats.valid_bad, stats.invalid_n, warm_rss, end_rss, 100 * growth))
    plot(args.out, samples, {"warm-up": (0, WARMUP_S), "slowloris": (t_slow0, t_slow1), "SIGTERM": (t_sig0, t_sig1)},
         warm_rss, end_rss, stats.per_second, title)
    with open(os.path.join(args.out, "rss.csv"), "w") as f:
        f.write("t_s,rss_mib,threads,fds\n")
        for s in samples:
            f.write("%.1f,%.2f,%s,%d\n" % s)

    lines = []
    lines.append("genreid serve soak — %s" % " ".join(cmd))
    lines.append("duration %.0f s (+ slowloris %.0f s, SIGTERM %.0f s); clients %d valid + %d invalid" % (
        args.duration, t_slow1 - t_slow0, t_sig1 - t_sig0, args.valid_clients, args.invalid_clients))
    lines.append("requests: %d valid (%.1f/s; p50 %.0f ms, p99 %.0f ms), %d invalid" % (
        stats.valid_n, stats.valid_n / args.duration, pct(lat, 50), pct(lat, 99), stats.invalid_n))
    lines.append("")
    lines.append("%-34s %8s %8s %8s %8s  %s" % ("request", "n", "ok", "p50 ms", "p99 ms", "statuses / errors"))
    for n, d in sorted(stats.by_name.items(), key=lambda kv: (not kv[1]["valid"], kv[0])):
        sts = " ".join("%s:%d" % (k, c) for k, c in sorted(d["statuses"].items()))
        ers = " ".join("%s:%d" % (k, c) for k, c in sorted(d["errors"].items()))
        lines.append("%-34s %8d %8d %8.0f %8.0f  %s" % (("  " if not d["valid"] else "") + n, d["n"], d["ok"],
                                                        pct(d["lat"], 50), pct(d["lat"], 99), (sts + " " + ers).strip()))
    lines.append("(indented: invalid requests; ok = the expected 4xx, or a close without an answer for malformed HTTP)")
    if stats.invalid_unexpected:
        lines.append("note: %d invalid requests got an unexpected answer (see the table)" % stats.invalid_unexpected)
    lines.append("")
    lines.append("slowloris: %d slow connections, peak %d server threads, %s" % (
        slow["slow_connections"], threads_peak_slow, json.dumps(slow["latency_ms"])))
    lines.append("SIGTERM: %s" % json.dumps(term))
    lines.append("")
    lines.append("%-44s %-5s %s" % ("check", "", "value"))
    for name, ok, value in checks:
        lines.append("%-44s %-5s %s" % (name, "PASS" if ok else "FAIL", value))
    lines.append("")
    lines.append("RSS curve: %s" % os.path.join(args.out, "rss.png"))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"cmd": cmd, "duration_s": args.duration, "valid": stats.valid_n, "valid_bad": stats.valid_bad,
                   "invalid": stats.invalid_n, "invalid_5xx": stats.invalid_5xx,
                   "invalid_unexpected": stats.invalid_unexpected,
                   "rss_after_warmup_mib": warm_rss, "rss_end_mib": end_rss, "rss_peak_mib": peak_rss,
                   "rss_growth": growth, "rss_trend_mib_per_h": slope, "slowloris": slow, "sigterm": term,
                   "by_name": {n: {k: v for k, v in d.items() if k != "lat"} for n, d in stats.by_name.items()},
                   "checks": [{"name": n, "ok": o, "value": v} for n, o, v in checks]}, f, indent=1, default=str)
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
