"""Benchmark 6: fleet mode — time until three httpd on one Redis store all serve N certificates versus one httpd, CA orders per domain (and per renewal), and challenge answer latency through Redis under wrk load."""
import os
import re
import shutil
import subprocess
import sys
import time

from . import common

# The fleet fixtures of the integration tests (redis-server, three httpd on
# 127.0.0.1/.2/.3, Pebble behind a recording proxy) serve the benchmark too.
sys.path.insert(0, os.path.join(common.REPO_DIR, "test", "integration"))
from fixtures import fleet as ffleet  # noqa: E402
from fixtures.ca import Pebble, make_dir  # noqa: E402
from fixtures.redis import RedisServer, redis_available  # noqa: E402

WRK = "/usr/bin/wrk"
FLEET_DIRECTIVES = ffleet.FLEET_DIRECTIVES


def _names(n, tag):
    return ["d%d.%s.fleet.bench.test" % (i, tag) for i in range(n)]


def _registered(module_path):
    """The fleet directives this build of the module registers (`apache2 -L`)."""
    from fixtures.directives import registered
    return set(registered(["LoadModule acme_module %s" % module_path], "mod_acme.c"))


class _Setup:
    """Pebble + recording proxy + Redis + nodes in one scratch directory."""

    def __init__(self, n_nodes, fleet, validity=None, renew_pct=None):
        self.wd = common.make_workdir("fleet")
        self.pebble = Pebble(self.wd, validity=validity).start()
        self.proxy = ffleet.FleetProxy(self.pebble).start()
        self.redis = RedisServer(self.wd).start() if fleet else None
        self.nodes = []
        redis = self.redis or type("NoRedis", (), {"url": None})()
        self.fleet = ffleet.Fleet(self._node, self.pebble, self.proxy, redis,
                                  make_dir(self.wd, "fleet"), n=n_nodes)
        if not fleet:
            for d in FLEET_DIRECTIVES:
                self.fleet.set(d, None)
        self.fleet.set("ACMERetryDelay", "1s")
        if renew_pct:
            self.fleet.set("ACMERenewWindow", "%d%%" % renew_pct)

    def _node(self, pebble, ip):
        node = ffleet.FleetNode(pebble, root=make_dir(self.wd, "httpd"), ip=ip,
                                log_level="info ssl:warn acme:info")
        self.nodes.append(node)
        return node

    def stop(self):
        for node in self.nodes:
            try:
                node.stop()
            except Exception as e:  # noqa: BLE001 - stop the others anyway
                common.log("  stopping httpd %s: %s" % (node.ip, e))
        self.proxy.stop()
        if self.redis:
            self.redis.stop()
        self.pebble.stop()
        common.remove_tree(self.wd)

    def log_tail(self):
        return self.fleet.log_tails(8)


def _all_served(fleet, names, not_serials=None):
    """{name: serial} once every node serves one Pebble serial per name (other
    than not_serials[name]); None otherwise."""
    out = {}
    for name in names:
        vals = set(fleet.serials(name).values())
        if len(vals) != 1 or None in vals:
            return None
        serial = vals.pop()
        if not_serials and not_serials.get(name) == serial:
            return None
        out[name] = serial
    return out


def _wait_all_served(fleet, names, timeout, not_serials=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = _all_served(fleet, names, not_serials)
        if got:
            return got
        time.sleep(0.25)
    return None


def issue_once(n_nodes, fleet_mode, n, tag, renewal=False):
    """One run: seconds from starting the node(s) until every node serves all n
    names; orders per name; with renewal, orders per name for one renewal."""
    validity = 90 if renewal else None
    s = _Setup(n_nodes, fleet_mode, validity=validity, renew_pct=50 if renewal else None)
    res = {"nodes": n_nodes, "store": "redis" if fleet_mode else "file", "n": n}
    try:
        names = _names(n, tag)
        for i, name in enumerate(names):
            s.fleet.add_domain(name, points_at=(i + 1) % n_nodes)
        t0 = time.monotonic()
        s.fleet.start()
        first = _wait_all_served(s.fleet, names, 60 + 6 * n)
        if first is None:
            res["error"] = "not all served within %ds" % (60 + 6 * n)
            return res
        res["served"] = time.monotonic() - t0
        orders = [len(s.fleet.orders_for(nm)) for nm in names]
        res["orders_per_domain_max"], res["orders_per_domain_min"] = max(orders), min(orders)
        if renewal:
            second = _wait_all_served(s.fleet, names, validity + 60 + 6 * n, not_serials=first)
            if second is None:
                res["error"] = "the renewal was not served everywhere"
                return res
            per = [len(s.fleet.orders_for(nm)) - 1 for nm in names]
            res["renewal_orders_per_domain_max"] = max(per)
            res["renewal_orders_per_domain_min"] = min(per)
    except Exception as e:  # a failed run is reported, never fatal
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if res.get("error"):
            res["log_tail"] = s.log_tail()
        s.stop()
    return res


def _wrk_latency(ip, port, path, host, duration, conns):
    """(requests/s, median ms, p99 ms, non-2xx) of wrk --latency on one URL."""
    r = subprocess.run([WRK, "-t2", "-c%d" % conns, "-d%ds" % duration, "--latency",
                        "--timeout", "5s", "-H", "Host: %s" % host,
                        "http://%s:%d%s" % (ip, port, path)],
                       capture_output=True, text=True, timeout=duration + 60)
    out = r.stdout

    def ms(label):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % re.escape(label), out, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": float(rps.group(1)) if rps else None, "median_ms": ms("50%"),
            "p99_ms": ms("99%"), "non_2xx": int(bad.group(1)) if bad else 0}


def latency_once(duration, conns):
    """A drive held with its answer in Redis (the CA's challenge request held at
    the proxy): wrk against that token on a node that is not the driver
    (answer from Redis) and on the driver (answer from its local store)."""
    s = _Setup(3, True)
    res = {}
    try:
        name = _names(1, "lat")[0]
        s.fleet.add_domain(name, points_at=0)
        s.proxy.hold("/chalZ/")
        s.fleet.start()
        if not s.proxy.held.wait(120):
            raise RuntimeError("no challenge request reached the CA")
        drivers = [nd for nd in s.fleet.nodes if nd.placed_order(name)]
        if len(drivers) != 1:
            raise RuntimeError("not one driver: %r" % [d.ip for d in drivers])
        driver = drivers[0]
        other = next(nd for nd in s.fleet.nodes if nd is not driver)
        token = s.proxy.tokens[name]["http-01"]
        path = "/.well-known/acme-challenge/" + token
        status, body = other.challenge(token, name)
        if status != 200 or not body.startswith(token.encode()):
            raise RuntimeError("node %s answers %d for the held token" % (other.ip, status))
        res["via_redis"] = _wrk_latency(other.ip, other.http_port, path, name, duration, conns)
        res["local"] = _wrk_latency(driver.ip, driver.http_port, path, name, duration, conns)
        s.proxy.release()
    except Exception as e:  # noqa: BLE001
        res["error"] = "%s: %s" % (type(e).__name__, e)
        res["log_tail"] = s.log_tail()
    finally:
        s.stop()
    return res


def run(sizes, reps, module_path, wrk_duration=5, wrk_conns=16, renewal=True):
    """Alternating fleet (3 nodes, Redis) and single-node (file store) runs per N,
    then the challenge latency. Returns the results dict."""
    out = {"runs": [], "figures": {}}
    if not module_path:
        out["not_measured"] = "no mod_acme build"
        return out
    if not redis_available() or not shutil.which("redis-server"):
        out["not_measured"] = "redis-server not installed (Debian package redis-server)"
        return out
    known = _registered(module_path)
    missing = [d for d in FLEET_DIRECTIVES if d not in known]
    if missing:
        out["not_measured"] = "this build has no fleet mode (%s not registered)" % ", ".join(missing)
        return out
    # the fixtures load the module of ACME_BUILD_DIR
    os.environ["ACME_BUILD_DIR"] = os.path.dirname(os.path.dirname(os.path.dirname(module_path)))
    run_no = 0
    for n in sizes:
        per = {"fleet": [], "single": []}
        for rep in range(reps):
            order = ["fleet", "single"] if rep % 2 == 0 else ["single", "fleet"]
            for kind in order:
                run_no += 1
                common.log("fleet %s N=%d rep %d" % (kind, n, rep + 1))
                r = issue_once(3 if kind == "fleet" else 1, kind == "fleet", n, "r%d" % run_no,
                               renewal=renewal and kind == "fleet" and rep == 0)
                common.log("  -> %s" % {k: v for k, v in r.items() if k != "log_tail"})
                out["runs"].append(r)
                per[kind].append(r)
        fig = {k: {"served": common.stats([r.get("served") for r in rs]),
                   "errors": [r["error"] for r in rs if r.get("error")]} for k, rs in per.items()}
        fig["ratio_fleet_vs_single"] = common.ratio(fig["fleet"]["served"],
                                                    fig["single"]["served"])
        fleet_runs = [r for r in per["fleet"] if "orders_per_domain_max" in r]
        fig["orders_per_domain_max"] = max((r["orders_per_domain_max"] for r in fleet_runs),
                                           default=None)
        ren = [r for r in per["fleet"] if "renewal_orders_per_domain_max" in r]
        fig["renewal_orders_per_domain_max"] = max((r["renewal_orders_per_domain_max"]
                                                    for r in ren), default=None)
        fig["renewal_orders_per_domain_min"] = min((r["renewal_orders_per_domain_min"]
                                                    for r in ren), default=None)
        out["figures"]["N=%d" % n] = fig
    common.log("fleet challenge latency under wrk (%d s, %d connections)"
               % (wrk_duration, wrk_conns))
    out["latency"] = latency_once(wrk_duration, wrk_conns)
    common.log("  -> %s" % {k: v for k, v in out["latency"].items() if k != "log_tail"})
    return out
