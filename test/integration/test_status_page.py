"""The HTML status page in a real browser: headless chromium loads it from httpd, the rendered DOM shows each domain's state (valid, error, pending, staged, expiring) and a watched static certificate, and the screenshot is kept in test/integration/artifacts/."""
import datetime
import os
import subprocess
import time

from fixtures.browser import ARTIFACTS, chromium, rows_of  # noqa: F401 (fixture)
from fixtures.ca import acmectl_path
from fixtures.certs import make_self_signed
from fixtures.httpd import wait_for
from test_module import ISSUE_TIMEOUT, wait_served

SHOT = os.path.join(ARTIFACTS, "status-page.png")


def hook(h, name, body):
    path = h.root / name
    path.write_text("#!/bin/sh\n" + body)
    os.chmod(path, 0o755)
    return path


def test_status_page_in_chromium(httpd_factory, pebble, chromium):  # noqa: F811
    h = httpd_factory(pebble)
    release = h.root / "release"
    h.acme["ACMERetryDelay"] = "60s"            # the failing domain stays in "error"
    # waiting.test's hook holds its drive for the whole test, however slow the machine
    h.add("ACMEActivation manual", "ACMECheckInterval 1s", "ACMEHookTimeout 30m")
    h.add("<ACMEDomainSet broken.test>", "  ACMEChallenges dns-01",
          "  ACMEDNSCommand " + str(hook(h, "dns-fail.sh",
                                         "echo 'the DNS API refused the key' >&2\nexit 1\n")),
          "</ACMEDomainSet>")
    # holds its first drive inside the DNS hook until the test releases it
    h.add("<ACMEDomainSet waiting.test>", "  ACMEChallenges dns-01",
          "  ACMEDNSCommand " + str(hook(h, "dns-wait.sh",
                                         f"while [ ! -e {release} ]; do sleep 0.2; done\nexit 1\n")),
          "</ACMEDomainSet>")
    h.add("<ACMEDomainSet expiring.test>", "  ACMEWarnWindow 3000d", "</ACMEDomainSet>")
    for name in ("valid.test", "staged.test", "expiring.test"):
        h.ssl_vhost(name, body="ACMEDomain" if name != "expiring.test" else "")
    now = datetime.datetime.utcnow()
    crt, key = make_self_signed(str(h.root), "static.test", now - datetime.timedelta(days=89),
                                now + datetime.timedelta(days=1))
    h.ssl_vhost("static.test", body=f"SSLCertificateFile {crt}\nSSLCertificateKeyFile {key}")
    h.start()
    try:
        # manual activation: everything is staged first, a graceful restart activates it
        for name in ("valid.test", "staged.test", "expiring.test"):
            wait_for(lambda n=name: (h.domain_status(n) or {}).get("staged"), ISSUE_TIMEOUT,
                     interval=1, what=f"{name} staged")
        h.graceful()
        for name in ("valid.test", "staged.test", "expiring.test"):
            wait_served(h, name, [name])
        # a renewal of staged.test waits for activation (ACMEActivation manual)
        r = subprocess.run([acmectl_path(), "-s", str(h.store), "renew", "staged.test"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        wait_for(lambda: (h.domain_status("staged.test") or {}).get("staged"), ISSUE_TIMEOUT,
                 interval=1, what="the renewal of staged.test staged")
        wait_for(lambda: (h.domain_status("broken.test") or {}).get("state") == "error", 60,
                 what="broken.test in error")
        status = h.status_json()
        states = {d["name"]: d for d in status["domains"]}
        assert states["waiting.test"]["state"] == "pending", states["waiting.test"]

        url = f"http://127.0.0.1:{h.admin_port}/acme-status"
        code, hdrs, raw = h.request("/acme-status", "admin.test", port=h.admin_port,
                                    headers={"Accept": "text/html"})
        assert code == 200 and hdrs["content-type"].startswith("text/html")
        page = raw.decode()
        # readable without script and without anything from elsewhere
        assert "<script" not in page.lower() and "src=" not in page and "<link" not in page

        dom = chromium.dump_dom(url)
        rows = rows_of(dom)
        got = {r["attrs"]["data-domain"]: r for r in rows.rows if "data-domain" in r["attrs"]}
        assert set(got) == set(states), (set(got), set(states))
        for name, d in states.items():
            assert got[name]["attrs"]["data-state"] == d["state"], (name, got[name]["attrs"])
        expect = {"valid.test": ("valid", "no", "no"), "staged.test": ("valid", "no", "yes"),
                  "expiring.test": ("valid", "yes", "no"), "broken.test": ("error", "no", "no"),
                  "waiting.test": ("pending", "no", "no")}
        for name, (state, expiring, staged) in expect.items():
            a = got[name]["attrs"]
            assert (a["data-state"], a["data-expiring"], a["data-staged"]) == \
                (state, expiring, staged), (name, a)
        broken = got["broken.test"]["text"]
        assert "dns-01 setup for broken.test failed" in broken and \
            "urn:mod_acme:challengeSetup" in broken, broken
        assert "What to do" in broken and "ACMEDNSCommand" in broken, broken
        assert "next graceful restart" in got["staged.test"]["text"]
        assert "issued" in got["valid.test"]["text"] and "expires" in got["valid.test"]["text"]
        statics = [r for r in rows.rows if "data-file" in r["attrs"]]
        assert [(r["attrs"]["data-file"], r["attrs"]["data-state"]) for r in statics] == \
            [(crt, "expiring")]

        path = chromium.screenshot(url, SHOT)
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        print(f"\nstatus page screenshot: {path}")
    finally:
        release.write_text("")
        time.sleep(0.5)
