"""Benchmark 1: time from `apache2 -k start` (fresh store) until N certificates are served by mod_acme, mod_md or certbot."""
import os
import time

from . import certbot, common, httpd, pebble, probe


def _names(n, run_id):
    return ["d%d.%s.bench.test" % (i, run_id) for i in range(n)]


def run_once(kind, n, challenge, run_id, module_path=None, tries=3):
    """One measurement; repeated with new ports when a port was taken meanwhile."""
    for attempt in range(tries):
        res = _run_once(kind, n, challenge, "%s%s" % (run_id, "abc"[attempt]), module_path)
        if "Address already in use" not in res.get("error", ""):
            break
        common.log("  port taken meanwhile, again with other ports")
    return res


def _run_once(kind, n, challenge, run_id, module_path=None):
    """One measurement with a fresh Pebble and a fresh store. Returns a dict of seconds."""
    wd = common.make_workdir("iss-%s" % kind)
    http_port, https_port = common.free_ports(2)
    peb = pebble.Pebble(wd, http_port, https_port)
    h = None
    res = {"kind": kind, "n": n, "challenge": challenge}
    timeout = 60 + 4 * n if challenge == "http-01" else 60 + 6 * n
    if kind == "certbot":
        timeout = 60 + 10 * n  # a Python start-up per certificate
    try:
        peb.start()
        issuer = peb.intermediate_subject()
        names = _names(n, run_id)
        # certbot's vhosts start on one shared temporary certificate, as an admin's would.
        h = httpd.Httpd("static" if kind == "certbot" else kind, os.path.join(wd, "httpd"),
                        http_port, https_port, names, ca_url=peb.directory_url,
                        ca_file=peb.ca_file, challenge=challenge, module_path=module_path,
                        static_cert=httpd.selfsigned(wd) if kind == "certbot" else None)
        os.makedirs(h.dir, exist_ok=True)
        h.write_conf()
        ok, out = h.configtest()
        if not ok:
            res["error"] = "configtest: " + out.strip()[-400:]
            return res
        alive = lambda: h.pid() is None or httpd._alive(h.pid())
        t0 = h.start()
        if kind == "md":
            staged = [os.path.join(h.store_dir, "staging", nm, "pubcert.pem") for nm in names]
            res["staged"], res["first_staged"] = probe.wait_files(staged, t0, timeout)
            if res["staged"] is None:
                res["error"] = "not all staged within %ds" % timeout
                return res
            # mod_md never activates by itself: reload right away to see them served.
            h.graceful()
        elif kind == "certbot":
            cb = certbot.Certbot(wd, peb.directory_url, peb.ca_file, os.path.join(h.dir, "htdocs"))
            res["issued"], res["first_issued"], err = cb.issue_all(names, t0, timeout)
            if err:
                res["error"] = err
                return res
            h.domain_certs = {nm: cb.live(nm) for nm in names}
            h.write_conf()
            h.graceful()
        res["served"], res["first_served"] = probe.wait_served(
            https_port, names, issuer, t0, timeout, alive=alive)
        if res["served"] is None:
            res["error"] = "not all served within %ds" % timeout
    except Exception as e:  # a failed run is reported, never fatal
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if h is not None:
            if res.get("error"):
                res["log_tail"] = h.error_log_tail(8)
            h.stop()
        peb.stop()
        common.remove_tree(wd)
    return res


def _skip(kind, challenge, module_path, n=1, certbot_max_n=None):
    """Why a kind is not measured for this challenge and N, or None."""
    if kind == "acme" and not module_path:
        return "no mod_acme build"
    if kind == "certbot" and challenge != "http-01":
        return "certbot has no tls-alpn-01"  # only http-01 and dns-01 plugins
    if kind == "certbot" and not certbot.available():
        return "certbot not installed (Debian package certbot)"
    if kind == "certbot" and certbot_max_n and n > certbot_max_n:
        # ~4 s per certificate, one after another: its rate is clear at small N
        return "certbot measured up to N=%d only" % certbot_max_n
    return None


def run(sizes, challenges, reps, module_path, kinds=("acme", "md", "certbot"), certbot_max_n=None):
    """Alternating runs of every kind for each (challenge, N); returns the results dict.
    certbot_max_n: certbot is skipped above this N (it issues one certificate at a time)."""
    out = {"runs": [], "figures": {}}
    run_no = 0
    for challenge in challenges:
        for n in sizes:
            per_kind = {k: [] for k in kinds}
            for rep in range(reps):
                order = list(kinds) if rep % 2 == 0 else list(reversed(kinds))
                for kind in order:
                    if _skip(kind, challenge, module_path, n, certbot_max_n):
                        continue
                    run_no += 1
                    common.log("issuance %s N=%d %s rep %d" % (kind, n, challenge, rep + 1))
                    r = run_once(kind, n, challenge, "r%d" % run_no, module_path)
                    common.log("  -> %s" % {k: v for k, v in r.items() if k != "log_tail"})
                    out["runs"].append(r)
                    per_kind[kind].append(r)
            key = "%s N=%d" % (challenge, n)
            fig = {}
            for kind, rs in per_kind.items():
                fig[kind] = {"served": common.stats([r.get("served") for r in rs]),
                             "errors": [r["error"] for r in rs if r.get("error")]}
                if kind == "md":
                    fig[kind]["staged"] = common.stats([r.get("staged") for r in rs])
                if kind == "certbot":
                    fig[kind]["issued"] = common.stats([r.get("issued") for r in rs])
                skipped = _skip(kind, challenge, module_path, n, certbot_max_n)
                if skipped:
                    fig[kind]["not_measured"] = skipped
            if "acme" in fig and "certbot" in fig:
                fig["ratio_acme_served_vs_certbot_issued"] = common.ratio(
                    fig["acme"]["served"], fig["certbot"].get("issued"))
                fig["ratio_acme_served_vs_certbot_served"] = common.ratio(
                    fig["acme"]["served"], fig["certbot"]["served"])
            if "acme" in fig and "md" in fig:
                fig["ratio_acme_served_vs_md_staged"] = common.ratio(
                    fig["acme"]["served"], fig["md"]["staged"])
                fig["ratio_acme_served_vs_md_served"] = common.ratio(
                    fig["acme"]["served"], fig["md"]["served"])
            out["figures"][key] = fig
    return out
