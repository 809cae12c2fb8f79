"""Benchmark 3: wrk requests/s (HTTPS keep-alive and Connection: close, managed vs static vhost; plain HTTP with the module loaded vs not) and callgrind instructions per request."""
import os
import pwd
import re
import socket
import ssl
import subprocess
import time

from . import common, httpd, pebble, probe

WRK = "/usr/bin/wrk"
MANAGED = "w.bench.test"
STATIC = "static.bench.test"


def _static_vhost(port, cert):
    return ("Listen 127.0.0.1:%d\n<VirtualHost 127.0.0.1:%d>\n  ServerName %s\n  SSLEngine on\n"
            "  SSLCertificateFile %s\n  SSLCertificateKeyFile %s\n</VirtualHost>\n"
            % (port, port, STATIC, cert[0], cert[1]))


class Server:
    """One httpd of the comparison: kind 'acme' / 'md' manage MANAGED on https_port
    and serve STATIC on static_port; 'plain' loads no ACME module."""

    def __init__(self, kind, root, cert, module_path):
        self.kind = kind
        self.http_port, self.https_port, self.static_port = common.free_ports(3)
        self.wd = os.path.join(root, kind)
        os.makedirs(self.wd, exist_ok=True)
        os.chmod(self.wd, 0o755)
        self.pebble = None
        self.cert = cert
        self.module_path = module_path
        self.h = None

    def start(self, timeout=120):
        """Start, and for a managed kind wait until Pebble's certificate is served."""
        extra = _static_vhost(self.static_port, self.cert)
        if self.kind == "plain":
            self.h = httpd.Httpd("plain", os.path.join(self.wd, "httpd"), self.http_port,
                                 self.https_port, [], extra=extra)
            self.h.write_conf()
            self.h.start()
            common.wait_port(self.http_port)
            return None
        self.pebble = pebble.Pebble(self.wd, self.http_port, self.https_port).start()
        self.h = httpd.Httpd(self.kind, os.path.join(self.wd, "httpd"), self.http_port,
                             self.https_port, [MANAGED], ca_url=self.pebble.directory_url,
                             ca_file=self.pebble.ca_file, module_path=self.module_path,
                             extra=extra)
        self.h.write_conf()
        t0 = self.h.start()
        if self.kind == "md":
            staged = os.path.join(self.h.store_dir, "staging", MANAGED, "pubcert.pem")
            if probe.wait_files([staged], t0, timeout)[0] is None:
                raise RuntimeError("mod_md staged nothing: " + self.h.error_log_tail(5))
            self.h.graceful()
        served = probe.wait_served(self.https_port, [MANAGED], self.pebble.intermediate_subject(),
                                   t0, timeout)[0]
        if served is None:
            raise RuntimeError("%s: certificate not served: %s" % (self.kind, self.h.error_log_tail(5)))
        # Pebble is not needed any more; it must not take CPU from the measurements.
        self.pebble.stop()
        time.sleep(1.0)
        return served

    def stop(self):
        if self.h:
            self.h.stop()
        if self.pebble:
            self.pebble.stop()


def wrk(url, duration, conns, threads=2, close=False):
    """Requests/s reported by wrk, or None."""
    cmd = [WRK, "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", r.stdout)
    errs = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if errs:
        common.log("  wrk %s: %s non-2xx responses" % (url, errs.group(1)))
        return None
    return float(m.group(1)) if m else None


def targets(servers):
    """(figure, variant, url, close) for every measurement of one batch."""
    out = []
    for s in servers:
        if s.kind == "plain":
            out.append(("http", "plain", "http://127.0.0.1:%d/index.html" % s.http_port, False))
            for mode, close in (("https_keepalive", False), ("https_close", True)):
                out.append((mode, "plain-static", "https://127.0.0.1:%d/index.html" % s.static_port, close))
            continue
        out.append(("http", s.kind, "http://127.0.0.1:%d/index.html" % s.http_port, False))
        for mode, close in (("https_keepalive", False), ("https_close", True)):
            out.append((mode, "%s-managed" % s.kind, "https://127.0.0.1:%d/index.html" % s.https_port, close))
            out.append((mode, "%s-static" % s.kind, "https://127.0.0.1:%d/index.html" % s.static_port, close))
    return out


def _http_get_loop(port, n, tls_name=None):
    """n keep-alive GETs of /index.html over one connection (the callgrind client)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock = raw
    if tls_name:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(raw)  # no SNI: the port's only vhost answers
    req = b"GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    f = sock.makefile("rb")
    for _ in range(n):
        sock.sendall(req)
        length = None
        status = f.readline()
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        f.read(length or 0)
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("callgrind client got %r" % status)
    f.close()
    sock.close()


def _callgrind_total(path):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    return None


def _callgrind_run(server, port, tls, requests, tag):
    """Instructions inside ap_run_process_connection for one connection of `requests` GETs,
    summed over the processes of the run (a module may fork helpers from httpd -X)."""
    h = server.h
    out_dir = os.path.join(server.wd, "callgrind.%s" % tag)
    os.makedirs(out_dir, exist_ok=True)
    # httpd -X drops to www-data before callgrind writes its output at exit.
    os.chown(out_dir, pwd.getpwnam("www-data").pw_uid, -1)
    # Only the connection's processing is counted: not start-up, timers or shutdown.
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s/out.%%p" % out_dir,
           "--toggle-collect=ap_run_process_connection",
           "/usr/sbin/apache2", "-X", "-d", h.dir, "-f", h.conf]
    log = open(os.path.join(server.wd, "valgrind.%s.log" % tag), "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        common.wait_port(port, timeout=180)
        # callgrind created its output files as root; httpd writes them at exit as www-data.
        for f in os.listdir(out_dir):
            os.chown(os.path.join(out_dir, f), pwd.getpwnam("www-data").pw_uid, -1)
        _http_get_loop(port, requests, tls)
    finally:
        common.stop_group(proc, timeout=120)
        log.close()
    totals = [_callgrind_total(os.path.join(out_dir, f)) for f in os.listdir(out_dir)]
    totals = [t for t in totals if t is not None]
    return sum(totals) if totals else None


def callgrind(server, requests):
    """Instructions per request on `apache2 -X` under callgrind for each port of server:
    the difference of a run with 10% and one with 110% of `requests` requests on one
    keep-alive connection, divided by `requests` (cancels the TLS handshake and first request)."""
    ports = [("http", server.http_port, None)]
    if server.kind != "plain":
        ports.append(("https_managed", server.https_port, MANAGED))
    ports.append(("https_static", server.static_port, STATIC))
    small = max(requests // 10, 10)
    result = {}
    for what, port, tls in ports:
        t_small = _callgrind_run(server, port, tls, small, what + "-small")
        t_big = _callgrind_run(server, port, tls, small + requests, what + "-big")
        result[what] = (t_big - t_small) / requests if t_small and t_big else None
    return result


def run(reps, duration, conns, module_path, callgrind_requests=2000, kinds=("acme", "md", "plain")):
    root = common.make_workdir("wrk")
    cert = httpd.selfsigned(root, (STATIC,))
    servers = []
    out = {"params": {"duration_s": duration, "connections": conns, "threads": 2, "batches": reps},
           "runs": [], "figures": {}, "callgrind": {}}
    try:
        for kind in kinds:
            if kind == "acme" and not module_path:
                continue
            s = Server(kind, root, cert, module_path)
            try:
                common.log("wrk: starting %s" % kind)
                s.start()
                servers.append(s)
            except Exception as e:
                common.log("wrk: %s unavailable: %s" % (kind, e))
                out["figures"]["%s_error" % kind] = str(e)[:500]
                s.stop()
        tg = targets(servers)
        for rep in range(reps):
            order = tg if rep % 2 == 0 else list(reversed(tg))
            for fig, variant, url, close in order:
                rps = wrk(url, duration, conns, close=close)
                common.log("wrk %s %s: %s req/s" % (fig, variant, rps))
                out["runs"].append({"figure": fig, "variant": variant, "rps": rps, "batch": rep})
        for fig in ("http", "https_keepalive", "https_close"):
            f = {}
            for r in out["runs"]:
                if r["figure"] == fig:
                    f.setdefault(r["variant"], []).append(r["rps"])
            f = {k: common.stats(v) for k, v in f.items()}
            for k in ("acme", "md"):
                if fig == "http" and k in f and "plain" in f:
                    f["ratio_%s_loaded_vs_not" % k] = common.ratio(f[k], f["plain"])
                if fig != "http" and "%s-managed" % k in f:
                    f["ratio_%s_managed_vs_static" % k] = common.ratio(
                        f["%s-managed" % k], f["%s-static" % k])
            out["figures"][fig] = f
        for s in servers:
            s.h.stop()
        if callgrind_requests:
            for s in servers:
                common.log("callgrind: %s (%d requests per port)" % (s.kind, callgrind_requests))
                try:
                    out["callgrind"][s.kind] = callgrind(s, callgrind_requests)
                except Exception as e:
                    out["callgrind"][s.kind] = {"error": "%s: %s" % (type(e).__name__, e)}
                common.log("  -> %s" % out["callgrind"][s.kind])
            cg = out["callgrind"]
            for k in ("acme", "md"):
                if k in cg and "plain" in cg and cg[k].get("http") and cg["plain"].get("http"):
                    cg["ratio_%s_http_loaded_vs_not" % k] = cg[k]["http"] / cg["plain"]["http"]
                if k in cg and cg[k].get("https_managed") and cg[k].get("https_static"):
                    cg["ratio_%s_https_managed_vs_static" % k] = (
                        cg[k]["https_managed"] / cg[k]["https_static"])
    finally:
        for s in servers:
            s.stop()
        common.remove_tree(root)
    return out
