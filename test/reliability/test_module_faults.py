"""mod_acme under faults: CA faults during renewal keep the old certificate served and never activate bad material; SIGKILL of the drive's child and of the parent mid-issuance loses nothing."""
import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

import figures
from faultproxy import Fault, FaultProxy
from fixtures.httpd import group_pids, pid_alive, wait_for
from relutil import (accounts, age_temp_files, check_active, held_locks, parse_problems,
                     parse_rfc3339, temp_files)

LONG = os.environ.get("ACME_RELIABILITY_LONG") == "1"
ISSUE_TIMEOUT = 180


def _acmectl():
    from fixtures.ca import acmectl_path
    return acmectl_path()


def _served(h, name):
    try:
        return h.served_cert(name)
    except OSError:
        return None


def _pebble_cert(h, name, not_serial=None):
    c = _served(h, name)
    if c is None or "Pebble" not in c.issuer.rfc4514_string():
        return None
    if not_serial is not None and c.serial_number == not_serial:
        return None
    return c


def _status(h, name):
    try:
        return h.domain_status(name) or {}
    except OSError:
        return {}


def test_module_faults_keep_old_certificate(httpd_factory, pebble_factory):
    """Renewal due every few seconds; each fault in turn must fail the renewal
    with a recorded error while the old certificate stays served."""
    pebble = pebble_factory(validity=600)
    proxy = FaultProxy(pebble).start()
    try:
        h = httpd_factory(pebble)
        h.ca_url = proxy.directory_url
        # 600 s certificates, renew when < 97 % remains: due 18 s after issuance.
        h.add("ACMERenewWindow 97%", "ACMECheckInterval 2s")
        h.ssl_vhost("mf.test", ["www.mf.test"])
        h.start()
        first = wait_for(lambda: _pebble_cert(h, "mf.test"), ISSUE_TIMEOUT, interval=1,
                         what="first certificate")
        figures.add("issuances")
        served = {first.serial_number}
        cases = [
            (Fault("cert_wrong_key", r"^POST /certZ/"), r"match"),
            (Fault("cert_expired", r"^POST /certZ/"), r"expire"),
            (Fault("status", r"^POST /order-plz", status=429, retry_after=4,
                   problem="urn:ietf:params:acme:error:rateLimited"), r"rateLimited"),
            (Fault("malformed", r"^POST /order-plz"), r"malformed|JSON"),
        ]
        if LONG:
            # Backoff doubles per failure (ACMERetryDelay 1s): more cases, longer waits.
            cases.append((Fault("drop", r"^POST /order-plz"), r"transport|reply|connect"))
        for fault, pattern in cases:
            proxy.clear()
            proxy.add(fault)

            def failed():
                c = _served(h, "mf.test")
                if c is not None:
                    served.add(c.serial_number)
                    if "Forger" in c.issuer.rfc4514_string():
                        figures.add("bad_activated")
                        raise AssertionError("forged certificate served")
                st = _status(h, "mf.test")
                err = st.get("last_error") or {}
                text = "%s %s" % (err.get("type"), err.get("detail"))
                return st if fault.hits and re.search(pattern, text) else None
            st = wait_for(failed, ISSUE_TIMEOUT, interval=0.5,
                          what="the renewal to fail with %s" % fault.kind)
            figures.add("faults", fault.hits)
            assert st.get("next_attempt"), st
            if fault.retry_after:
                # The CA's Retry-After is honoured: no new attempt before it.
                at = parse_rfc3339(st["last_error"]["at"])
                nxt = parse_rfc3339(st["next_attempt"])
                assert (nxt - at).total_seconds() >= fault.retry_after - 1, st
                hits = fault.hits
                time.sleep(fault.retry_after - 1.5)
                assert fault.hits == hits, "retried before Retry-After had passed"
            assert _pebble_cert(h, "mf.test").serial_number == first.serial_number, \
                "the certificate changed during a failing renewal"
            print("%s -> %s" % (fault.kind, st["last_error"].get("detail")))
        assert served == {first.serial_number}, "something else was served meanwhile"
        proxy.clear()
        second = wait_for(lambda: _pebble_cert(h, "mf.test", not_serial=first.serial_number),
                          ISSUE_TIMEOUT, interval=1, what="the renewed certificate")
        figures.add("issuances")
        assert second.not_valid_before >= first.not_valid_before
        wait_for(lambda: not _status(h, "mf.test").get("last_error"), 30,
                 what="last_error cleared")
        check_active(str(h.store), "mf.test", ["mf.test", "www.mf.test"])
    finally:
        proxy.stop()


def _drive_pid(h):
    """The child that logged the latest drive message (not the parent)."""
    parent = h.pid()
    for line in reversed(h.error_log().splitlines()[-400:]):
        if "[acme:" not in line:
            continue
        m = re.search(r"\[pid (\d+)", line)
        if m and int(m.group(1)) != parent and pid_alive(int(m.group(1))):
            return int(m.group(1))
    return None


def test_module_sigkill_child_and_parent(httpd_factory, pebble_factory):
    """SIGKILL the drive's child or the whole server at random moments while
    three domains are issued and renewed (60 s certificates), then check."""
    rng = random.Random(int(os.environ.get("ACME_RELIABILITY_SEED", "7515")))
    rounds = 24 if LONG else 8
    pebble = pebble_factory(validity=60)
    proxy = FaultProxy(pebble).start()
    try:
        h = httpd_factory(pebble)
        h.ca_url = proxy.directory_url
        h.add("ACMERenewWindow 80%", "ACMECheckInterval 2s")
        domains = {"m%d.test" % i: ["m%d.test" % i, "www.m%d.test" % i] for i in range(3)}
        for d, names in domains.items():
            h.ssl_vhost(d, names[1:])
        h.start()
        kills = 0
        for rnd in range(rounds):
            time.sleep(rng.uniform(0.3, 4.0))
            if rnd % 3 == 2:
                # The parent and everything with it; then start again.
                h.kill()
                kills += 1
                h.start()
            else:
                pid = _drive_pid(h)
                targets = [pid] if pid else [p for p in group_pids(h.pid()) if p != h.pid()]
                for p in targets:
                    try:
                        os.kill(p, signal.SIGKILL)
                        kills += 1
                    except ProcessLookupError:
                        pass
        figures.add("kills", kills)

        def all_valid():
            for d, names in domains.items():
                if not _pebble_cert(h, d) or _status(h, d).get("state") != "valid":
                    return False
            return True
        wait_for(all_valid, ISSUE_TIMEOUT, interval=1, what="every domain valid")
        figures.add("issuances", len(domains))
        h.stop()
        store = str(h.store)
        corrupt = parse_problems(store)
        figures.add("corrupt", len(corrupt))
        assert not corrupt, corrupt
        assert not held_locks(store)
        for d, names in domains.items():
            check_active(store, d, names)
        age_temp_files(store)
        subprocess.run([_acmectl(), "-s", store, "status"], capture_output=True, timeout=60)
        assert not temp_files(store), temp_files(store)
        assert len(accounts(store)) == 1, accounts(store)
        assert len(proxy.accounts) == 1, proxy.accounts
        print("module: %d rounds, %d kills" % (rounds, kills))
    finally:
        proxy.stop()
