"""Benchmark 2: cold and warm start time, parent/total RSS and total PSS with many managed domains versus static certificates."""
import os
import time

from . import common, httpd, probe

MEASURES = ("ready", "rss_parent_kb", "rss_total_kb", "pss_total_kb")


def _measure_start(h, last_name, timeout):
    """Start h; seconds until the last vhost answers HTTPS, then memory after children settle."""
    t0 = h.start()
    ready = probe.wait_https(h.https_port, last_name, t0, timeout)
    time.sleep(2.0)
    parent, total = h.rss()
    _, pss_total = h.pss()
    return {"ready": ready, "rss_parent_kb": parent, "rss_total_kb": total,
            "pss_total_kb": pss_total}


def run_once(kind, n, module_path, timeout=900):
    """Cold start (empty store) then warm start (same store) of one configuration."""
    wd = common.make_workdir("start-%s" % kind)
    http_port, https_port, dead_port = common.free_ports(3)
    res = {"kind": kind, "n": n}
    h = None
    try:
        names = ["s%d.bench.test" % i for i in range(n)]
        cert = httpd.selfsigned(wd)
        # The CA is unreachable on purpose: start-up must not depend on it.
        h = httpd.Httpd(kind, os.path.join(wd, "httpd"), http_port, https_port, names,
                        ca_url="https://127.0.0.1:%d/dir" % dead_port, ca_file=cert[0],
                        module_path=module_path, static_cert=cert)
        h.write_conf()
        for phase in ("cold", "warm"):
            r = _measure_start(h, names[-1], timeout)
            res[phase] = r
            h.stop()
            if r["ready"] is None:
                res["error"] = "%s start: not ready within %ds: %s" % (
                    phase, timeout, h.error_log_tail(5))
                break
    except Exception as e:
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if h is not None:
            h.stop()
        common.remove_tree(wd)
    return res


def run(sizes, reps, module_path, kinds=("acme", "static"), md_sizes=(), md_reps=1):
    """Alternating runs; mod_md only for md_sizes (its cold start is ~0.18 s per domain)."""
    out = {"runs": [], "figures": {}}
    for n in sizes:
        plan = []
        for rep in range(reps):
            order = list(kinds) if rep % 2 == 0 else list(reversed(kinds))
            plan += [k for k in order if k != "acme" or module_path]
        if n in md_sizes:
            plan += ["md"] * md_reps
        per_kind = {}
        for kind in plan:
            common.log("start_time %s N=%d" % (kind, n))
            r = run_once(kind, n, module_path)
            common.log("  -> %s" % r)
            out["runs"].append(r)
            per_kind.setdefault(kind, []).append(r)
        fig = {}
        for kind, rs in per_kind.items():
            f = {"errors": [r["error"] for r in rs if r.get("error")]}
            for phase in ("cold", "warm"):
                ph = [r.get(phase) or {} for r in rs]
                f[phase] = {m: common.stats([p.get(m) for p in ph]) for m in MEASURES}
            fig[kind] = f
        for peer in ("acme", "md"):
            if peer in fig and "static" in fig:
                fig["ratios_%s_vs_static" % peer] = {
                    "%s_%s" % (phase, m): common.ratio(fig[peer][phase][m], fig["static"][phase][m])
                    for phase in ("cold", "warm")
                    for m in MEASURES}
        out["figures"]["N=%d" % n] = fig
    return out
