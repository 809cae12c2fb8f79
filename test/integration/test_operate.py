"""Integration tests of running mod_acme in a real httpd against Pebble: Prometheus metrics (strictly parsed), expiry warnings while running (ACMEWarnWindow, ACMEWatchStatic), ACMERequireHttps redirects and HSTS, ACMEProfile mandatory, ACMERenewViaARI and the ARI explanationURL."""
import datetime
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from fixtures import promtext
from fixtures.ca import acmectl_path
from fixtures.certs import make_self_signed
from fixtures.httpd import wait_for
from test_module import ISSUE_TIMEOUT, is_pebble, wait_served

METRICS_LOCATION = ["<Location /acme-metrics>", "  SetHandler acme-metrics",
                    "  Require ip 127.0.0.1", "</Location>"]


def scrape(h):
    """GET /acme-metrics on the admin vhost: (content type, text)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{h.admin_port}/acme-metrics", timeout=10) as resp:
        return resp.headers.get("Content-Type", ""), resp.read().decode()


def notify_script(h):
    """An ACMENotifyCmd that appends "EVENT DOMAIN" lines to a log; returns the log path."""
    log = h.root / "notify.log"
    for f in (log, h.root / "notify.log.env"):
        f.write_text("")
        os.chmod(f, 0o666)
    script = h.root / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$1 $2" >> {log}\n'
                      f'echo "$1 $2 $ACME_NOT_AFTER $ACME_CERT_FILE" >> {log}.env\n')
    os.chmod(script, 0o755)
    h.add(f"ACMENotifyCmd {script}")
    return log


def failing_dns_hook(h):
    script = h.root / "dns-fail.sh"
    script.write_text("#!/bin/sh\necho 'no DNS API today' >&2\nexit 1\n")
    os.chmod(script, 0o755)
    return script


# -- the strict parser must itself refuse what Prometheus refuses ----------------------

@pytest.mark.parametrize("bad", [
    "a 1",                                               # no final newline
    "# TYPE a gauge\n# TYPE a gauge\na 1\n",             # TYPE twice
    "a 1\n# TYPE a gauge\n",                             # TYPE after the samples
    'a{x="1"} 1\nb 1\na{x="2"} 1\n',                     # family not together
    'a{x="1"} 1\na{x="1"} 2\n',                          # duplicate series
    'a{x="\\q"} 1\n',                                    # bad escape
    "a one\n",                                           # bad value
    "# TYPE c counter\nc 1\n",                           # counter without _total
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
])
def test_prometheus_parser_is_strict(bad):
    with pytest.raises(promtext.PromError):
        promtext.parse(bad)


# -- metrics ----------------------------------------------------------------------------

def test_metrics(httpd_factory, pebble):
    """acme-metrics: format 0.0.4 that a strict parser accepts, with the figures of a
    valid and a failing domain, CA requests by endpoint, drive durations and
    activations; nothing secret."""
    h = httpd_factory(pebble)
    h.add(*METRICS_LOCATION)
    h.add("<ACMEDomainSet broken.test>", "  ACMEChallenges dns-01",
          f"  ACMEDNSCommand {failing_dns_hook(h)}", "</ACMEDomainSet>")
    h.ssl_vhost("metrics.test")
    h.start()
    cert = wait_served(h, "metrics.test", ["metrics.test"])
    wait_for(lambda: (h.domain_status("broken.test") or {}).get("last_error"), ISSUE_TIMEOUT,
             interval=1, what="the failing domain's error")

    def scraped():
        ctype, text = scrape(h)
        fams = promtext.parse(text)
        # the counters reach the handler through the store (saved every 2 s)
        if not promtext.samples(fams, "acme_activations_total", domain="metrics.test"):
            return None
        return ctype, text, fams
    ctype, text, fams = wait_for(scraped, 60, interval=1, what="metrics with activations")
    assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
    assert "PRIVATE KEY" not in text and "BEGIN" not in text

    v = lambda name, **l: promtext.samples(fams, name, **l)  # noqa: E731
    assert v("acme_certificate_not_after_seconds", domain="metrics.test", key_type="ec256") == \
        [cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()]
    assert v("acme_domain_state", domain="metrics.test", state="valid") == [1]
    assert v("acme_domain_state", domain="metrics.test", state="error") == [0]
    # between retries "error", during one "pending": never valid
    assert v("acme_domain_state", domain="broken.test", state="valid") == [0]
    assert sum(v("acme_domain_state", domain="broken.test")) == 1
    assert v("acme_certificate_expiring", domain="metrics.test") == [0]
    assert v("acme_domain_renewal_due_seconds", domain="metrics.test")[0] > time.time()
    assert abs(v("acme_domain_last_success_seconds", domain="metrics.test")[0] - time.time()) < 600
    assert v("acme_domain_consecutive_failures", domain="metrics.test") == [0]
    assert v("acme_domain_consecutive_failures", domain="broken.test")[0] >= 1
    assert v("acme_domain_last_failure_seconds", domain="broken.test")
    assert v("acme_domain_failing_since_seconds", domain="broken.test")
    assert not v("acme_domain_failing_since_seconds", domain="metrics.test")
    assert v("acme_activations_total", domain="metrics.test") == [1]
    ca = pebble.directory_url
    for endpoint in ("directory", "newNonce", "newAccount", "newOrder", "authz", "challenge",
                     "finalize", "order", "certificate"):
        assert sum(v("acme_ca_requests_total", ca=ca, endpoint=endpoint)) >= 1, endpoint
    assert v("acme_ca_requests_total", ca=ca, endpoint="newOrder", **{"class": "2xx"})[0] >= 2
    assert v("acme_drive_duration_seconds_count", result="success") == [1]
    assert v("acme_drive_duration_seconds_count", result="failure")[0] >= 1
    assert fams["acme_drive_duration_seconds"]["type"] == "histogram"

    # Counters survive a restart; an unchanged certificate is no new activation.
    before = v("acme_ca_requests_total", ca=ca, endpoint="newOrder", **{"class": "2xx"})[0]
    h.graceful()
    time.sleep(3)
    fams = promtext.parse(scrape(h)[1])
    assert promtext.samples(fams, "acme_activations_total", domain="metrics.test") == [1]
    assert promtext.samples(fams, "acme_ca_requests_total", ca=ca, endpoint="newOrder",
                            **{"class": "2xx"})[0] >= before


# -- expiry warnings ------------------------------------------------------------------------

def test_expiry_warnings_while_running(httpd_factory, pebble_factory):
    """A managed certificate inside ACMEWarnWindow and a vhost's own certificate about to
    expire are logged at warn and notified (expiring) once a day, also across a restart,
    and shown in status and metrics; ACMEWatchStatic off drops the static one."""
    pebble = pebble_factory(validity=3600)      # renewal (33%) is 40 min away
    h = httpd_factory(pebble)
    log = notify_script(h)
    h.add(*METRICS_LOCATION)
    h.add("ACMECheckInterval 1s")
    h.add("<ACMEDomainSet warn.test>", "  ACMEWarnWindow 2h", "</ACMEDomainSet>")
    h.ssl_vhost("warn.test", body="")
    h.ssl_vhost("calm.test")                      # default 10%: not warned
    now = datetime.datetime.utcnow()
    crt, key = make_self_signed(str(h.root), "static.test", now - datetime.timedelta(days=29),
                                now + datetime.timedelta(days=1))
    fresh_crt, fresh_key = make_self_signed(str(h.root), "fresh.test",
                                            now - datetime.timedelta(days=1),
                                            now + datetime.timedelta(days=300))
    h.ssl_vhost("static.test", body=f"SSLCertificateFile {crt}\nSSLCertificateKeyFile {key}")
    h.ssl_vhost("fresh.test", body=f"SSLCertificateFile {fresh_crt}\n"
                                   f"SSLCertificateKeyFile {fresh_key}")
    h.start()
    wait_served(h, "warn.test", ["warn.test"])
    wait_served(h, "calm.test", ["calm.test"])

    def events():
        return [l for l in log.read_text().splitlines() if l.startswith("expiring ")]
    wait_for(lambda: {"expiring warn.test", "expiring static.test"} <= set(events()), 60,
             what="expiring events")
    time.sleep(4)                                  # several more watchdog looks
    assert sorted(events()) == ["expiring static.test", "expiring warn.test"], events()
    with_env = (h.root / "notify.log.env").read_text().splitlines()
    not_after = (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:")
    assert any(l.startswith(f"expiring static.test {not_after}") and l.endswith(" " + crt)
               for l in with_env), with_env
    err = h.error_log()
    assert "ACMEDomain warn.test: the certificate expires at" in err
    assert "inside ACMEWarnWindow" in err
    assert f"SSLCertificateFile {crt} of <VirtualHost static.test:" in err
    assert "calm.test: the certificate expires" not in err and str(fresh_crt) + " of" not in err

    st = h.status_json()
    doms = {d["name"]: d for d in st["domains"]}
    assert doms["warn.test"]["expiring"] is True and doms["calm.test"]["expiring"] is False
    assert doms["warn.test"]["certificates"][0]["expiring"] is True
    statics = {c["file"]: c for c in st["static_certificates"]}
    assert statics[crt]["expiring"] is True and statics[crt]["names"] == ["static.test"]
    assert statics[fresh_crt]["expiring"] is False
    fams = promtext.parse(scrape(h)[1])
    assert promtext.samples(fams, "acme_certificate_expiring", domain="warn.test") == [1]
    assert promtext.samples(fams, "acme_certificate_expiring", domain="calm.test") == [0]
    assert promtext.samples(fams, "acme_static_certificate_expiring", file=crt) == [1]
    assert promtext.samples(fams, "acme_static_certificate_expiring", file=fresh_crt) == [0]

    # At most once a day, across restarts too.
    h.graceful()
    time.sleep(4)
    assert sorted(events()) == ["expiring static.test", "expiring warn.test"], events()

    h.add("ACMEWatchStatic off")
    h.graceful()
    assert h.status_json()["static_certificates"] == []


# -- ACMERequireHttps ------------------------------------------------------------------------

def test_require_https(httpd_factory, pebble):
    h = httpd_factory(pebble)
    for name, mode in (("perm.test", "permanent"), ("temp.test", "temporary"),
                       ("plain.test", "off")):
        h.add(f"<ACMEDomainSet {name}>", f"  ACMERequireHttps {mode}", "</ACMEDomainSet>")
        h.ssl_vhost(name, body="")
    h.http_vhost("perm.test", aliases=["temp.test", "plain.test", "other.test"])
    h.start()
    for name in ("perm.test", "temp.test", "plain.test"):
        wait_served(h, name, [name])

    def redirected():
        return h.request("/a/b?q=1", "perm.test")[0] == 301
    wait_for(redirected, 60, what="the redirect after activation")
    status, hdrs, _ = h.request("/a/b?q=1", "perm.test")
    assert status == 301 and hdrs["location"] == "https://perm.test/a/b?q=1", (status, hdrs)
    assert h.request("/x", "perm.test", method="POST")[0] == 308
    status, hdrs, _ = h.request("/", "temp.test")
    assert status == 302 and hdrs["location"] == "https://temp.test/", (status, hdrs)
    assert h.request("/x", "temp.test", method="POST")[0] == 307
    # challenge requests, names of other domains and unmanaged names are left alone
    assert h.request("/.well-known/acme-challenge/abcdefgh", "perm.test")[0] == 404
    assert h.request("/", "plain.test")[0] == 200
    assert h.request("/", "other.test")[0] == 200
    # HSTS on HTTPS for permanent only
    _, hdrs, _ = h.request("/", "perm.test", tls=True)
    assert hdrs.get("strict-transport-security") == "max-age=15768000", hdrs
    _, hdrs, _ = h.request("/nothing-here", "perm.test", tls=True)
    assert hdrs.get("strict-transport-security") == "max-age=15768000", "not on error pages"
    _, hdrs, _ = h.request("/", "temp.test", tls=True)
    assert "strict-transport-security" not in hdrs
    _, hdrs, _ = h.request("/", "perm.test")       # never over plain HTTP
    assert "strict-transport-security" not in hdrs


def test_require_https_waits_for_a_certificate(httpd_factory, pebble):
    """No redirect to a site that only has the fallback certificate."""
    h = httpd_factory(pebble)
    h.ca_url = "https://127.0.0.1:9/dir"             # nothing listens there
    h.add("ACMERequireHttps permanent")
    h.ssl_vhost("early.test")
    h.http_vhost("early.test")
    h.start()
    assert not is_pebble(h.served_cert("early.test"))
    assert h.request("/", "early.test")[0] == 200


# -- profiles and ARI -------------------------------------------------------------------------

def test_profile_mandatory(httpd_factory, pebble, ari_proxy):
    proxy = ari_proxy(pebble, ari=False, profiles={"classic": "the usual"})
    h = httpd_factory(pebble, ca_url=proxy.directory_url)
    h.add("<ACMEDomainSet missing.test>", "  ACMEProfile shortlived mandatory",
          "</ACMEDomainSet>")
    h.add("<ACMEDomainSet offered.test>", "  ACMEProfile classic mandatory", "</ACMEDomainSet>")
    h.add("<ACMEDomainSet fallback.test>", "  ACMEProfile shortlived", "</ACMEDomainSet>")
    for name in ("missing.test", "offered.test", "fallback.test"):
        h.ssl_vhost(name, body="")
    h.start()
    wait_served(h, "offered.test", ["offered.test"])
    wait_served(h, "fallback.test", ["fallback.test"])
    d = wait_for(lambda: (h.domain_status("missing.test") or {}).get("last_error"), 90,
                 interval=1, what="the mandatory profile's error")
    assert d["type"] == "urn:mod_acme:profileUnavailable", d
    assert "shortlived" in d["detail"] and "mandatory" in d.get("hint", ""), d
    orders = proxy.new_orders
    names = [o["identifiers"][0]["value"] for o in orders]
    assert "missing.test" not in names, orders
    assert [o.get("profile") for o in orders if o["identifiers"][0]["value"] == "offered.test"] \
        == ["classic"], orders
    assert all("profile" not in o for o in orders
               if o["identifiers"][0]["value"] == "fallback.test"), orders


def test_renew_via_ari_off_and_explanation_url(httpd_factory, pebble, ari_proxy):
    url = "https://ca.example/incident/42"
    proxy = ari_proxy(pebble, explanation_url=url)
    h = httpd_factory(pebble, ca_url=proxy.directory_url)
    h.add("<ACMEDomainSet noari.test>", "  ACMERenewViaARI off", "</ACMEDomainSet>")
    h.ssl_vhost("noari.test", body="")
    h.ssl_vhost("ari.test")
    h.start()
    wait_served(h, "noari.test", ["noari.test"])
    wait_served(h, "ari.test", ["ari.test"])
    d = wait_for(lambda: (h.domain_status("ari.test") or {}).get("renewal", {}).get(
        "explanation_url") and h.domain_status("ari.test"), 60, what="ARI renewal info")
    assert d["renewal"]["source"] == "ari" and d["renewal"]["explanation_url"] == url, d
    n = h.domain_status("noari.test")
    assert n["renewal"]["source"] == "window" and "explanation_url" not in n["renewal"], n
    from fixtures.certs import ari_cert_id
    asked = set(proxy.renewal_info_requests)
    assert ari_cert_id(h.served_cert("ari.test")) in asked
    assert ari_cert_id(h.served_cert("noari.test")) not in asked, asked
    status, _, body = h.request("/acme-status", "admin.test", port=h.admin_port,
                                headers={"Accept": "text/html"})
    assert status == 200 and url.encode() in body


# -- events --------------------------------------------------------------------------------

EVENT_SCRIPT = r'''#!/usr/bin/python3
import json, os, sys
with open(%(log)r, "a") as f:
    f.write(json.dumps({"args": sys.argv[1:], "env": dict(os.environ)}) + "\n")
# a program that knows nothing of challenge-setup: it must not stop the drive
sys.exit(1 if sys.argv[1] == "challenge-setup" else 0)
'''

# dns-01 through challtestsrv; fails while the file FAIL exists
DNS_SCRIPT = r'''#!/usr/bin/python3
import json, os, sys, urllib.request
op, name, value = sys.argv[1:]
if os.path.exists(%(fail)r):
    sys.stderr.write("the DNS API is down\n")
    sys.exit(1)
body = {"host": name + ".", "value": value} if op == "setup" else {"host": name + "."}
req = urllib.request.Request(%(url)r + ("/set-txt" if op == "setup" else "/clear-txt"),
                             data=json.dumps(body).encode(), method="POST")
urllib.request.urlopen(req, timeout=10).read()
'''


def test_events(httpd_factory, pebble_factory):
    """ACMENotifyCmd gets renewing, challenge-setup (waited for; its failure does not
    stop the drive), issued, activated, renew-failed and errored with their variables,
    and every run's exit status is logged."""
    pebble = pebble_factory(env={"PEBBLE_AUTHZREUSE": "0"})
    h = httpd_factory(pebble)
    log, fail = h.root / "events.log", h.root / "dns-down"
    log.write_text("")
    os.chmod(log, 0o666)
    script = h.root / "events.py"
    script.write_text(EVENT_SCRIPT % {"log": str(log)})
    dns = h.root / "dns.py"
    dns.write_text(DNS_SCRIPT % {"fail": str(fail), "url": pebble.challtestsrv_url})
    for f in (script, dns):
        os.chmod(f, 0o755)
    h.add(f"ACMENotifyCmd {script}")
    h.add("<ACMEDomainSet events.test>", "  ACMEChallenges dns-01", f"  ACMEDNSCommand {dns}",
          "</ACMEDomainSet>")
    h.add("<ACMEDomainSet broken.test>", "  ACMEChallenges dns-01",
          f"  ACMEDNSCommand {failing_dns_hook(h)}", "</ACMEDomainSet>")
    h.ssl_vhost("events.test", body="")
    h.start()
    wait_served(h, "events.test", ["events.test"])

    def events(domain):
        out = []
        for line in log.read_text().splitlines():
            e = json.loads(line)
            if e["args"][1] == domain:
                out.append(e)
        return out
    names = lambda domain: [e["args"][0] for e in events(domain)]  # noqa: E731
    wait_for(lambda: "activated" in names("events.test"), 60, what="the activated event")
    seq = names("events.test")
    assert seq[:4] == ["renewing", "challenge-setup", "issued", "activated"], seq
    ev = {e["args"][0]: e["env"] for e in events("events.test")}
    assert ev["renewing"]["ACME_REASON"] == "no ec256 certificate yet", ev["renewing"]
    cs = ev["challenge-setup"]
    assert (cs["ACME_CHALLENGE_TYPE"], cs["ACME_IDENTIFIER"], cs["ACME_NAME"]) == \
        ("dns-01", "events.test", "_acme-challenge.events.test"), cs
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cs["ACME_VALUE"]), cs
    for e in events("events.test"):
        assert e["env"]["ACME_EVENT"] == e["args"][0] and e["env"]["ACME_DOMAIN"] == "events.test"

    # the first certificate of broken.test cannot be had: errored, with the problem
    wait_for(lambda: "errored" in names("broken.test"), ISSUE_TIMEOUT, what="errored")
    err = [e["env"] for e in events("broken.test") if e["args"][0] == "errored"][0]
    assert err["ACME_PROBLEM_TYPE"] == "urn:mod_acme:challengeSetup", err
    assert "broken.test" in err["ACME_PROBLEM_DETAIL"] and err["ACME_FAILURES"] == "1", err
    assert err["ACME_NEXT_ATTEMPT"] and err["ACME_STEP"] == "challenge setup", err
    assert "renew-failed" not in names("broken.test")

    # a renewal that fails while the certificate is still served: renew-failed
    fail.write_text("")
    r = subprocess.run([acmectl_path(), "-s", str(h.store), "renew", "events.test"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: "renew-failed" in names("events.test"), ISSUE_TIMEOUT, what="renew-failed")
    rf = [e["env"] for e in events("events.test") if e["args"][0] == "renew-failed"][0]
    assert rf["ACME_PROBLEM_TYPE"] == "urn:mod_acme:challengeSetup", rf
    assert "errored" not in names("events.test")
    assert is_pebble(h.served_cert("events.test"))
    text = h.error_log()
    assert re.search(r'ACMENotifyCmd "\S+ issued events\.test" exited with status 0', text)
    assert re.search(r'ACMENotifyCmd "\S+ challenge-setup events\.test" exited with status 1',
                     text), text[-3000:]


# -- configuration errors -----------------------------------------------------------------

@pytest.mark.parametrize("line,value", [
    ("ACMEWarnWindow 0%", "0%"),
    ("ACMEWarnWindow soon", "soon"),
    ("ACMEWatchStatic yes", "yes"),
    ("ACMERequireHttps always", "always"),
    ("ACMEDNSPropagation 2h", "2h"),
    ("ACMEDNSPropagation -5", "-5"),
    ("ACMEDNSResolver ns1.example.org", "ns1.example.org"),
    ("ACMEDNSResolver 192.0.2.53:70000", "192.0.2.53:70000"),
    ("ACMERenewViaARI maybe", "maybe"),
    ("ACMEProfile classic optional", "optional"),
])
def test_new_directives_refuse_bad_values(httpd, line, value):
    httpd.ssl_vhost("cfg.test")
    httpd.add(line)
    rc, out = httpd.configtest()
    directive = line.split()[0]
    assert rc != 0 and "Invalid command" not in out, out
    assert directive in out and value in out, out


def test_new_directives_where_allowed(httpd):
    httpd.add("<ACMEDomainSet set.test>", "  ACMEWarnWindow 7d", "  ACMERequireHttps temporary",
              "  ACMEDNSPropagation 0", "  ACMEDNSResolver [::1]:5353", "  ACMERenewViaARI off",
              "  ACMEProfile tlsserver mandatory", "</ACMEDomainSet>",
              "ACMEWatchStatic off", "ACMEWarnWindow 10%")
    httpd.ssl_vhost("set.test", body="")
    rc, out = httpd.configtest()
    assert rc == 0, out
    httpd.add("<ACMEDomainSet other.test>", "  ACMEWatchStatic on", "</ACMEDomainSet>")
    rc, out = httpd.configtest()
    assert rc != 0 and "ACMEWatchStatic" in out, out
