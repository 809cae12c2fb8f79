"""Integration tests of the programs mod_acme and acmectl start (ACMEDNSCommand, ACMENotifyCmd, --dns-command): the uid they run as, their descriptors, environment and arguments, and the timeout that kills a hanging one while httpd keeps serving."""
import grp
import json
import os
import pwd
import time

import pytest

from fixtures.ca import make_dir, wait_for
from fixtures.httpd import pid_alive

ISSUE_TIMEOUT = 180
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DNS_ENV = {"PATH", "ACME_ACTION", "ACME_IDENTIFIER", "ACME_NAME", "ACME_VALUE"}
NOTIFY_ENV = {"PATH", "ACME_EVENT", "ACME_DOMAIN", "ACME_NAMES"}
# README "Events": each event's own variables besides NOTIFY_ENV
EVENT_ENV = {"renewing": {"ACME_REASON"},
             "challenge-setup": {"ACME_CHALLENGE_TYPE", "ACME_IDENTIFIER", "ACME_NAME",
                                 "ACME_VALUE", "ACME_TOKEN", "ACME_KEY_AUTHORIZATION"}}

# One script for every hook: records what it sees as one JSON line, then
# does its job (dns: the TXT record in challtestsrv) or hangs (with a
# grandchild) when the file HANG exists.
HOOK = r'''#!/usr/bin/python3
import os
# descriptors first: nothing of ours is open yet
FDS = []
for fd in range(1024):
    try:
        os.fstat(fd)
        FDS.append(fd)
    except OSError:
        pass
import json, sys, time, urllib.request
LOG, HANG, URL = %(log)r, %(hang)r, %(url)r
with open("/proc/self/environ", "rb") as f:   # as exec'd, before Python's own changes
    env = dict(e.decode().split("=", 1) for e in f.read().split(b"\0") if e)
rec = {"argv": sys.argv[1:], "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
       "egid": os.getegid(), "groups": sorted(os.getgroups()), "fds": FDS, "env": env,
       "stdin": os.path.realpath("/proc/self/fd/0"), "pid": os.getpid()}
if os.path.exists(HANG):
    child = os.fork()
    if child == 0:
        time.sleep(3600)
        os._exit(0)
    rec["hang"] = [os.getpid(), child]
with open(LOG, "a") as f:
    f.write(json.dumps(rec) + "\n")
if os.path.exists(HANG):
    time.sleep(3600)
if len(sys.argv) == 4 and sys.argv[1] in ("setup", "teardown"):
    op, name = sys.argv[1], sys.argv[2]
    body = {"host": name + ".", "value": sys.argv[3]} if op == "setup" else {"host": name + "."}
    req = urllib.request.Request(URL + ("/set-txt" if op == "setup" else "/clear-txt"),
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
'''


class Hook:
    """An executable hook script (any user may run it and append to its log)."""

    def __init__(self, directory, challtestsrv_url, hang=False):
        self.dir = directory
        self.path = os.path.join(directory, "hook.py")
        self.log = os.path.join(directory, "hook.log")
        self.hang_path = os.path.join(directory, "HANG")
        with open(self.path, "w") as f:
            f.write(HOOK % {"log": self.log, "hang": self.hang_path, "url": challtestsrv_url})
        os.chmod(self.path, 0o755)
        open(self.log, "a").close()
        os.chmod(self.log, 0o666)
        if hang:
            open(self.hang_path, "w").close()

    def records(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]


@pytest.fixture
def hook_factory(pebble, test_dir):
    made = []

    def make(name="hook", hang=False):
        h = Hook(make_dir(test_dir, name), pebble.challtestsrv_url, hang=hang)
        made.append(h)
        return h

    yield make
    # a hook that outlived its timeout would be a failure; never leave one behind
    for h in made:
        for rec in h.records():
            for pid in rec.get("hang", []):
                if pid_alive(pid):
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass


def www_data():
    pw = pwd.getpwnam("www-data")
    groups = sorted({pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if "www-data" in g.gr_mem})
    return pw.pw_uid, pw.pw_gid, groups


def check_record(rec, uid, gid, groups, env_keys):
    assert rec["fds"] == [0, 1, 2], rec
    assert rec["stdin"] == "/dev/null", rec
    assert set(rec["env"]) == env_keys, rec["env"]
    assert rec["env"]["PATH"] == PATH
    assert (rec["uid"], rec["euid"], rec["gid"], rec["egid"]) == (uid, uid, gid, gid), rec
    assert rec["groups"] == groups, rec


def dead_soon(pids, timeout=15):
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout, interval=0.2,
             what="the hook's processes to be killed")


# -- mod_acme ----------------------------------------------------------------------

def test_module_hooks_run_as_user_with_stdio_and_documented_env(httpd_factory, pebble,
                                                                hook_factory):
    dns, notify = hook_factory("dns"), hook_factory("notify")
    h = httpd_factory(pebble)
    h.add("<ACMEDomainSet hk.test *.hk.test>", f"  ACMEDNSCommand {dns.path}",
          "  ACMEChallenges dns-01", "</ACMEDomainSet>", f"ACMENotifyCmd {notify.path}")
    h.ssl_vhost("hk.test", ["*.hk.test"], body="")
    h.start()
    wait_for(lambda: {"issued", "activated"} <= {r["argv"][0] for r in notify.records()},
             ISSUE_TIMEOUT, interval=1, what="issued and activated events")
    uid, gid, groups = www_data()

    calls = dns.records()
    assert {r["argv"][0] for r in calls} >= {"setup", "teardown"}, calls
    for r in calls:
        check_record(r, uid, gid, groups, DNS_ENV)
        op, name, value = r["argv"]
        assert r["env"]["ACME_ACTION"] == op
        assert r["env"]["ACME_NAME"] == name
        assert r["env"]["ACME_VALUE"] == value
        assert r["env"]["ACME_IDENTIFIER"] in ("hk.test", "*.hk.test")
        assert name == "_acme-challenge.hk.test"
    # issued (child) and activated (root parent): both as the User
    for r in notify.records():
        event, domain = r["argv"]
        extra = set(r["env"]) - NOTIFY_ENV
        assert extra <= EVENT_ENV.get(event, set()), (event, extra)
        check_record(r, uid, gid, groups, NOTIFY_ENV | extra)
        assert domain == "hk.test"
        assert r["env"]["ACME_EVENT"] == event
        assert r["env"]["ACME_DOMAIN"] == "hk.test"
        assert r["env"]["ACME_NAMES"] == "hk.test *.hk.test"


def test_module_hanging_dns_hook_is_killed(httpd_factory, pebble, hook_factory):
    dns = hook_factory("dns", hang=True)
    h = httpd_factory(pebble)
    h.add("ACMEHookTimeout 2s", "<ACMEDomainSet hang.test>", f"  ACMEDNSCommand {dns.path}",
          "  ACMEChallenges dns-01", "</ACMEDomainSet>")
    h.ssl_vhost("hang.test", body="")
    h.start()
    wait_for(lambda: "timed out after 2 s and was killed" in h.error_log(), 120, interval=0.5,
             what="the DNS command's timeout")
    recs = dns.records()
    assert recs and recs[0]["argv"][0] == "setup"
    dead_soon(recs[0]["hang"])          # the program and its grandchild
    d = wait_for(lambda: (h.domain_status("hang.test") or {}).get("last_error"), 60,
                 what="the failure in status")
    assert "dns-01" in d["detail"], d
    assert h.running()
    status, _, _ = h.request("/", "admin.test", port=h.admin_port)
    assert status in (200, 403, 404)


def test_module_hanging_notify_is_killed(httpd_factory, pebble, hook_factory):
    notify = hook_factory("notify", hang=True)
    h = httpd_factory(pebble)
    h.add("ACMEHookTimeout 2s", f"ACMENotifyCmd {notify.path}")
    h.ssl_vhost("nh.test")
    h.start()
    # issued (child's drive thread) and activated (root parent's supervisor)
    wait_for(lambda: {"issued", "activated"} <= {r["argv"][0] for r in notify.records()},
             ISSUE_TIMEOUT, interval=1, what="issued and activated events")
    for rec in notify.records():
        dead_soon(rec["hang"])
    wait_for(lambda: h.error_log().count("ACMENotifyCmd") >= 2
             and h.error_log().count("timed out after 2 s and was killed") >= 2, 30,
             what="both notify timeouts logged")
    assert h.running()
    assert "Pebble" in h.served_cert("nh.test").issuer.rfc4514_string()


def test_hook_timeout_directive_checked(httpd):
    httpd.add("ACMEHookTimeout soon")
    rc, out = httpd.configtest()
    assert rc != 0 and "ACMEHookTimeout" in out and "soon" in out, out


# -- acmectl ---------------------------------------------------------------------------

def issue_args(store, pebble, names, dns, extra=()):
    return ["-s", store, "issue", "--ca", pebble.directory_url, "--ca-cert", pebble.ca_cert,
            "--email", "admin@example.org", "--agree-tos", "--dns-command", dns] \
        + list(extra) + list(names)


def test_acmectl_dns_command_stdio_and_env(acmectl, pebble, hook_factory, test_dir):
    dns = hook_factory("dns")
    store = os.path.join(test_dir, "store")
    res = acmectl(*issue_args(store, pebble, ["*.ah.example"], dns.path),
                  env={"SECRET_OF_THE_CALLER": "x"})
    assert res.returncode == 0, res.stderr
    calls = dns.records()
    assert [r["argv"][0] for r in calls] == ["setup", "teardown"], calls
    # acmectl's programs run as acmectl's user
    me = (os.getuid(), os.getgid(), sorted(os.getgroups()))
    for r in calls:
        check_record(r, me[0], me[1], me[2], DNS_ENV)
        assert r["env"]["ACME_IDENTIFIER"] == "*.ah.example"
        assert r["argv"][1] == "_acme-challenge.ah.example"


def test_acmectl_hook_timeout(acmectl, pebble, hook_factory, test_dir):
    dns = hook_factory("dns", hang=True)
    store = os.path.join(test_dir, "store")
    start = time.monotonic()
    res = acmectl(*issue_args(store, pebble, ["hang.example"], dns.path,
                              extra=["--hook-timeout", "2s"]), timeout=120)
    assert res.returncode == 1, res.stderr
    assert "timed out after 2 s and was killed" in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("acmectl: hang.example:")
    assert time.monotonic() - start < 100
    dead_soon(dns.records()[0]["hang"])
    res = acmectl(*issue_args(store, pebble, ["hang.example"], dns.path,
                              extra=["--hook-timeout", "never"]))
    assert res.returncode == 2 and "--hook-timeout" in res.stderr
