"""Turns the benchmark parts into bench/results/results.json and the Markdown table README quotes."""
import json
import os

from . import common

PARTS = ("issuance", "start_time", "wrk", "micro", "ceiling", "fleet")


def _med(s, scale=1.0, digits=2):
    if not s or s.get("median") is None:
        return "n/a"
    return "%.*f" % (digits, s["median"] * scale)


def _mmm(s, scale=1.0, digits=2):
    if not s or s.get("median") is None:
        return "n/a"
    return "%.*f / %.*f / %.*f" % (digits, s["min"] * scale, digits, s["median"] * scale,
                                   digits, s["max"] * scale)


def _r(x, digits=2):
    return "n/a" if x is None else "%.*f×" % (digits, x)


def _verdict(value, limit, higher_is_better=False):
    if value is None:
        return "not measured"
    ok = value >= limit if higher_is_better else value <= limit
    return "met" if ok else "**not met**"


def _issuance(md, part):
    md.append("### 1. Time until N certificates are served (fresh store, `apache2 -k start` = 0)\n")
    md.append("Seconds, min / median / max. mod_md never activates by itself: *staged* is when "
              "its certificates are in `staging/`, *served* is after the benchmark itself "
              "reloads httpd at that moment. certbot (`certonly --webroot`, one run per domain, "
              "one after another, vhosts on a shared temporary certificate meanwhile): *issued* "
              "is when all N lineages are in `live/`, *served* is after the benchmark's reload "
              "onto them; certbot has no tls-alpn-01.\n")
    md.append("| challenge | N | mod_acme served | mod_md staged | mod_md served (reload by hand) "
              "| mod_acme / mod_md staged | certbot issued | certbot served (reload by hand) "
              "| mod_acme / certbot issued | target |")
    md.append("|---|---|---|---|---|---|---|---|---|---|")
    figs = part.get("figures", {})
    for key in sorted(figs, key=lambda k: (k.split(" N=")[0], int(k.split(" N=")[1]))):
        fig = figs[key]
        ch, n = key.split(" N=")
        a, m = fig.get("acme", {}), fig.get("md", {})
        ratio = fig.get("ratio_acme_served_vs_md_staged")
        target = ""
        if ch == "http-01" and n == "50":
            target = "≤ 0.20×: " + _verdict(ratio, 0.20)
        elif ch == "http-01" and n == "1":
            med = (a.get("served") or {}).get("median")
            target = "served ≤ 2 s: " + _verdict(med, 2.0)
        elif ch == "tls-alpn-01" and n == "10":
            target = "≤ 0.25×: " + _verdict(ratio, 0.25)
        c = fig.get("certbot", {})
        errs = sum(len(f.get("errors", [])) for f in (a, m, c))
        if c.get("not_measured"):
            certbot_cols = "— (%s) | — | —" % c["not_measured"]
        else:
            certbot_cols = "%s | %s | %s" % (_mmm(c.get("issued")), _mmm(c.get("served")),
                                             _r(fig.get("ratio_acme_served_vs_certbot_issued")))
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s%s |" % (
            ch, n, _mmm(a.get("served")), _mmm(m.get("staged")), _mmm(m.get("served")),
            _r(ratio), certbot_cols, target, " (%d failed runs)" % errs if errs else ""))
    md.append("")


def _start(md, part):
    md.append("### 2. Start time and memory with many domains (CA unreachable)\n")
    md.append("*Ready* = from `apache2 -k start` until the last vhost answers HTTPS. Cold = empty "
              "store, warm = second start on the same store. RSS in MiB (median) of the parent "
              "and of all httpd processes; total PSS = proportional set size summed over all "
              "httpd processes (`/proc/PID/smaps_rollup`), shared pages counted once.\n")
    md.append("| N | variant | cold ready s | warm ready s | parent RSS | total RSS | total PSS | "
              "ratio vs static (cold / warm / parent RSS / total PSS) | target |")
    md.append("|---|---|---|---|---|---|---|---|---|")
    figs = part.get("figures", {})
    for key in sorted(figs, key=lambda k: int(k.split("=")[1])):
        fig = figs[key]
        for kind in ("static", "acme", "md"):
            f = fig.get(kind)
            if not f:
                continue
            rat = fig.get("ratios_%s_vs_static" % kind, {}) if kind != "static" else {}
            target = ""
            if kind == "acme":
                target = ("cold ≤ 1.5×: %s; warm ≤ 1.1×: %s; RSS ≤ 1.1×: %s; PSS ≤ 1.15×: %s"
                          % (_verdict(rat.get("cold_ready"), 1.5),
                             _verdict(rat.get("warm_ready"), 1.1),
                             _verdict(rat.get("warm_rss_parent_kb"), 1.1),
                             _verdict(rat.get("warm_pss_total_kb"), 1.15)))
            ratios = "" if kind == "static" else "%s / %s / %s / %s" % (
                _r(rat.get("cold_ready")), _r(rat.get("warm_ready")),
                _r(rat.get("warm_rss_parent_kb")), _r(rat.get("warm_pss_total_kb")))
            name = {"static": "static certificates", "acme": "mod_acme", "md": "mod_md"}[kind]
            if f.get("errors"):
                name += " (%d failed runs)" % len(f["errors"])
            md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                key.split("=")[1], name, _mmm(f["cold"]["ready"]), _mmm(f["warm"]["ready"]),
                _med(f["warm"]["rss_parent_kb"], 1 / 1024.0, 1),
                _med(f["warm"]["rss_total_kb"], 1 / 1024.0, 1),
                _med(f["warm"].get("pss_total_kb"), 1 / 1024.0, 1), ratios, target))
    md.append("")


def _wrk(md, part):
    p = part.get("params", {})
    md.append("### 3. Request throughput (wrk, %s batches of %s s, %s connections, 2 threads)\n"
              % (p.get("batches"), p.get("duration_s"), p.get("connections")))
    md.append("Requests/s, min / median / max over the batches; the ratio compares medians.\n")
    md.append("| measurement | variant | requests/s | ratio | target |")
    md.append("|---|---|---|---|---|")
    figs = part.get("figures", {})
    labels = {"https_keepalive": "HTTPS keep-alive", "https_close": "HTTPS Connection: close",
              "http": "plain HTTP"}
    for fig in ("https_keepalive", "https_close", "http"):
        f = figs.get(fig, {})
        for variant, s in sorted(f.items()):
            if variant.startswith("ratio_"):
                continue
            ratio, target = "", ""
            kind = variant.split("-")[0]
            if variant.endswith("-managed"):
                ratio = _r(f.get("ratio_%s_managed_vs_static" % kind), 3)
                if kind == "acme":
                    target = "≥ 0.98×: " + _verdict(f.get("ratio_acme_managed_vs_static"), 0.98, True)
            elif fig == "http" and variant in ("acme", "md"):
                ratio = _r(f.get("ratio_%s_loaded_vs_not" % variant), 3)
                if variant == "acme":
                    target = "≥ 0.99×: " + _verdict(f.get("ratio_acme_loaded_vs_not"), 0.99, True)
            md.append("| %s | %s | %s | %s | %s |" % (labels[fig], variant, _mmm(s, digits=0),
                                                     ratio, target))
    cg = part.get("callgrind", {})
    if cg:
        md.append("\nInstructions per request (callgrind on `apache2 -X`, inside "
                  "`ap_run_process_connection`, keep-alive):\n")
        md.append("| server | plain HTTP | HTTPS managed vhost | HTTPS static vhost |")
        md.append("|---|---|---|---|")
        for kind in ("plain", "acme", "md"):
            c = cg.get(kind)
            if not isinstance(c, dict):
                continue
            if c.get("error"):
                md.append("| %s | error: %s | | |" % (kind, c["error"][:80]))
                continue
            f = lambda v: "n/a" if v is None else "{:,.0f}".format(v)
            md.append("| %s | %s | %s | %s |" % (
                {"plain": "no ACME module", "acme": "mod_acme", "md": "mod_md"}[kind],
                f(c.get("http")), f(c.get("https_managed")) if kind != "plain" else "—",
                f(c.get("https_static"))))
        r1 = cg.get("ratio_acme_http_loaded_vs_not")
        r2 = cg.get("ratio_acme_https_managed_vs_static")
        md.append("\nmod_acme: plain HTTP %s of not loaded (target ≤ 1.01×: %s); HTTPS managed "
                  "%s of static (target ≤ 1.01×: %s). mod_md: plain HTTP %s, HTTPS managed %s.\n"
                  % (_r(r1, 4), _verdict(r1, 1.01), _r(r2, 4), _verdict(r2, 1.01),
                     _r(cg.get("ratio_md_http_loaded_vs_not"), 4),
                     _r(cg.get("ratio_md_https_managed_vs_static"), 4)))
    md.append("")


def _micro(md, part):
    md.append("### 4. Core micro-benchmarks (ns per call, median of 5 alternating rounds)\n")
    md.append("| operation | core | raw library call | ratio | target |")
    md.append("|---|---|---|---|---|")
    names = {"jws_sign_es256": ("JWS ES256 sign (acme_jws_sign)", "EVP_DigestSign"),
             "jws_sign_rs256": ("JWS RS256 sign (acme_jws_sign)", "EVP_DigestSign"),
             "json_decode_order": ("order JSON decode (acme_json_parse)", "json_loadb"),
             "json_encode_order": ("order JSON encode (acme_json_dump)", "json_dumps")}
    for key, f in part.get("figures", {}).items():
        label, raw = names.get(key, (key, "raw"))
        target = ("≤ 1.1×: " + _verdict(f.get("ratio"), 1.1)) if key.startswith("jws") else ""
        md.append("| %s | %.0f | %.0f (%s) | %.3f× | %s |" % (
            label, f["core_ns"]["median"], f["raw_ns"]["median"], raw, f["ratio"], target))
    md.append("")
    sigs = [(k, f) for k, f in part.get("figures", {}).items() if "ratio_ir" in f]
    if sigs:
        md.append("Raw = `EVP_DigestSign` on a copy of a signing context prepared once, as the "
                  "core signs. Instructions per call (callgrind, repeatable on a shared machine):\n")
        md.append("| operation | core | raw | ratio | raw with `EVP_DigestSignInit` per call |")
        md.append("|---|---|---|---|---|")
        for key, f in sigs:
            label = names.get(key, (key, ""))[0]
            md.append("| %s | %s | %s | %.3f× | %s |" % (
                label, "{:,}".format(f["core_ir"]), "{:,}".format(f["raw_ir"]), f["ratio_ir"],
                "{:,}".format(f["raw_init_ir"])))
        md.append("")


def _ceiling(md, part, issuance):
    f = part.get("figures", {})
    best = f.get("best_per_s")
    md.append("### 5. Pebble's ceiling\n")
    line = ("Pebble issued at most **%.1f certificates/s** here (minimal parallel Python client, "
            "%s concurrent clients, http-01 via challtestsrv)." % (best or 0, f.get("best_concurrency")))
    fig = (issuance or {}).get("figures", {}).get("http-01 N=100", {})
    served = ((fig.get("acme") or {}).get("served") or {}).get("median")
    if served and best:
        rate = 100.0 / served
        line += (" mod_acme's N=100 (http-01, median %.1f s, including activation) is %.1f "
                 "certificates/s = **%.0f%%** of that ceiling." % (served, rate, 100 * rate / best))
    hung = sum(v.get("hung_runs", 0) for v in f.values() if isinstance(v, dict))
    if hung:
        line += (" Pebble stopped answering in %d of the settings tried (a known Pebble deadlock "
                 "under many concurrent clients); those give no rate." % hung)
    md.append(line + "\n")


def _fleet(md, part):
    md.append("### 6. Fleet: three httpd on one Redis store\n")
    if part.get("not_measured"):
        md.append("Not measured: %s.\n" % part["not_measured"])
        return
    md.append("Seconds from starting the node(s) (fresh stores) until **every** node serves "
              "all N certificates, min / median / max: three nodes on 127.0.0.1/.2/.3 sharing "
              "one redis-server (AOF on) versus one node with the file store. Orders per domain "
              "are the newOrders Pebble accepted per name (must be 1); per renewal: the orders "
              "of one renewal of every name (90 s certificates, renewed at 50 %; must be 1).\n")
    md.append("| N | fleet of 3 served | one node served | fleet / one node | orders per domain "
              "(max) | orders per domain per renewal (min–max) |")
    md.append("|---|---|---|---|---|---|")
    for key, fig in part.get("figures", {}).items():
        errs = sum(len(fig.get(k, {}).get("errors", [])) for k in ("fleet", "single"))
        lo, hi = fig.get("renewal_orders_per_domain_min"), fig.get("renewal_orders_per_domain_max")
        md.append("| %s | %s | %s | %s | %s | %s%s |" % (
            key.split("=")[1], _mmm(fig["fleet"].get("served")), _mmm(fig["single"].get("served")),
            _r(fig.get("ratio_fleet_vs_single")),
            "n/a" if fig.get("orders_per_domain_max") is None else fig["orders_per_domain_max"],
            "not measured" if hi is None else "%s–%s" % (lo, hi),
            " (%d failed runs)" % errs if errs else ""))
    lat = part.get("latency") or {}
    md.append("")
    if lat.get("error"):
        md.append("Challenge answer latency: failed: %s\n" % lat["error"])
        return
    md.append("Challenge answer latency under wrk (a drive held with its answer stored, "
              "plain HTTP GETs of that token): a node that is not the driver answers from "
              "Redis, the driver from its local store.\n")
    md.append("| answered by | requests/s | median ms | p99 ms | non-2xx |")
    md.append("|---|---|---|---|---|")
    for label, key in (("another node (Redis)", "via_redis"), ("the driver (local)", "local")):
        w = lat.get(key) or {}
        fmt = lambda v, d=2: "n/a" if v is None else "%.*f" % (d, v)
        md.append("| %s | %s | %s | %s | %s |" % (label, fmt(w.get("rps"), 0),
                                                   fmt(w.get("median_ms")), fmt(w.get("p99_ms")),
                                                   w.get("non_2xx", "n/a")))
    md.append("")


def _when(md, part):
    """The parts may come from different runs: say when and on which source each was measured."""
    if part.get("measured_at"):
        md.append("_Measured %s on source commit %s._\n" % (part["measured_at"],
                                                            part.get("source_commit", "?")))


def write(results_dir, quick):
    data = {"machine": common.machine_info(), "quick": quick, "parts": {}}
    for name in PARTS:
        path = os.path.join(results_dir, name + ".json")
        try:
            with open(path) as f:
                data["parts"][name] = json.load(f)
        except (OSError, ValueError):
            continue
    m = data["machine"]
    md = ["## Benchmark results%s\n" % (" (quick run: smallest sizes, once)" if quick else ""),
          "Machine: %s, %s CPUs (`nproc`), %s MiB memory, Linux %s; %s; %s. Measured %s, all on "
          "127.0.0.1 against a local Pebble (`PEBBLE_VA_NOSLEEP=1`, `PEBBLE_WFE_NONCEREJECT=0`), "
          "mod_md 2.6.10 from Debian's apache2, %s, runs of the compared variants alternating. "
          "Load average when the report was written: %s (other work shared the machine).\n"
          % (m["cpu"], m["nproc"], m["memory_mib"], m["kernel"], m["httpd"], m["openssl"], m["date"],
             m.get("certbot") or "no certbot", " ".join(str(x) for x in m.get("loadavg", [])))]
    parts = data["parts"]
    for name, fn in (("issuance", _issuance), ("start_time", _start), ("wrk", _wrk),
                     ("micro", _micro), ("ceiling", None), ("fleet", _fleet)):
        if name not in parts:
            continue
        if name == "ceiling":       # a broken ceiling run is left out, not reported
            if not parts[name].get("error"):
                _ceiling(md, parts[name], parts.get("issuance"))
                _when(md, parts[name])
        elif parts[name].get("error"):
            md.append("### %s\n\nfailed: %s\n" % (name, parts[name]["error"]))
        else:
            fn(md, parts[name])
            _when(md, parts[name])
    with open(os.path.join(results_dir, "results.json"), "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
    with open(os.path.join(results_dir, "results.md"), "w") as f:
        f.write("\n".join(md))
    return os.path.join(results_dir, "results.md")
