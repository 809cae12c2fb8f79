"""Fault injection between acmectl and Pebble: every fault fails the renewal cleanly with a specific error, honours Retry-After/backoff, keeps the old certificate, never activates bad material, and the next run after the fault is gone succeeds."""
import datetime
import os
import re
import time

import pytest

import figures
from faultproxy import Fault, FaultProxy
from relutil import (active_fingerprint, active_leaf, assert_ok, check_active, error_line,
                     issue_args, held_locks, parse_problems, parse_rfc3339, status, temp_files)

# (id, Fault arguments, regex the one-line error must match, minimum backoff in s)
FAULTS = [
    ("500-newOrder", dict(kind="status", match=r"^POST /order-plz", status=500),
     r"serverInternal.*500", 0),
    ("503-retry-after-newOrder", dict(kind="status", match=r"^POST /order-plz", status=503,
                                      retry_after=120),
     r"503", 100),
    ("503-directory", dict(kind="status", match=r"^GET /dir", status=503),
     r"503|directory", 0),
    ("429-retry-after-newOrder", dict(kind="status", match=r"^POST /order-plz", status=429,
                                      retry_after=300,
                                      problem="urn:ietf:params:acme:error:rateLimited"),
     r"rateLimited.*429", 250),
    ("500-finalize", dict(kind="status", match=r"^POST /finalize-order/", status=500),
     r"serverInternal.*500", 0),
    ("drop-newOrder", dict(kind="drop", match=r"^POST /order-plz"),
     r"transport|[Ee]mpty reply|connection|closed", 0),
    ("drop-nonce", dict(kind="drop", match=r"^(HEAD|GET) /nonce-plz"),
     r"transport|[Ee]mpty reply|connection|closed|nonce", 0),
    ("truncate-finalize", dict(kind="truncate", match=r"^POST /finalize-order/"),
     r"JSON|json|parse", 0),
    ("malformed-newOrder", dict(kind="malformed", match=r"^POST /order-plz"),
     r"JSON|json|parse", 0),
    ("content-type-order", dict(kind="content_type", match=r"^POST /order-plz"),
     r"[Cc]ontent.[Tt]ype|text/html", 0),
    ("oversize-newOrder", dict(kind="oversize", match=r"^POST /order-plz"),
     r"size|large|limit|exceed", 0),
    ("cert-wrong-key", dict(kind="cert_wrong_key", match=r"^POST /certZ/"),
     r"key", 0),
    ("cert-wrong-names", dict(kind="cert_wrong_names", match=r"^POST /certZ/"),
     r"name|cover", 0),
    ("cert-expired", dict(kind="cert_expired", match=r"^POST /certZ/"),
     r"expire|valid", 0),
]

STALL = ("stall-body-newOrder", dict(kind="stall", match=r"^POST /order-plz", stall=90),
         r"[Tt]ime|transport|timeout", 0)


@pytest.fixture
def faulty(pebble, webroot_server):
    proxy = FaultProxy(pebble).start()
    yield proxy
    proxy.stop()


def _staging_has_forged(store):
    for root, _, files in os.walk(os.path.join(store, "staging")):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                if b"Forger" in fh.read() or _forged_pem(os.path.join(root, f)):
                    return True
    return False


def _forged_pem(path):
    if not path.endswith(".pem"):
        return False
    from fixtures.certs import load_pem_chain
    try:
        with open(path, "rb") as f:
            chain = load_pem_chain(f.read())
    except ValueError:
        return False
    return any("Forger" in c.issuer.rfc4514_string() for c in chain)


def run_fault(acmectl, pebble, webroot_server, proxy, test_dir, fault_kw, pattern, min_backoff,
              domain):
    store = os.path.join(test_dir, "store")
    names = [domain, "www." + domain]
    args = issue_args(store, proxy, names, webroot=webroot_server.root)

    # A good certificate first: the one that must survive the fault.
    assert_ok(acmectl(*args))
    figures.add("issuances")
    old = active_fingerprint(store, domain)
    check_active(store, domain, names)

    assert_ok(acmectl("-s", store, "renew", domain))
    fault = proxy.add(Fault(**fault_kw))
    t0 = datetime.datetime.utcnow().replace(microsecond=0)
    res = acmectl(*args, timeout=400)
    line = error_line(res)
    figures.add("faults", fault.hits)
    if fault.kind not in ("status", "drop", "stall"):
        figures.add("bad_inputs", fault.hits)   # hostile bodies and forged certificates
    assert fault.hits >= 1, "the fault was never triggered: %s" % proxy.requests
    assert re.search(pattern, line), "error not specific: %r" % line

    # The old certificate stays active, nothing forged is active or staged.
    now_fp = active_fingerprint(store, domain)
    if now_fp != old:
        leaf = active_leaf(store, domain)
        if leaf is None:
            figures.add("certs_lost")
        if leaf is not None and "Forger" in leaf.issuer.rfc4514_string():
            figures.add("bad_activated")
    assert now_fp == old, "the active certificate changed although the renewal failed"
    assert not _staging_has_forged(store), "forged material kept in staging"
    corrupt = parse_problems(store)
    figures.add("corrupt", len(corrupt))
    assert not corrupt, corrupt
    assert not temp_files(store)
    assert not held_locks(store)

    st = status(acmectl, store, domain)
    assert st.get("last_error"), st
    assert st.get("next_attempt"), "no next_attempt after a failure: %s" % st
    nxt = parse_rfc3339(st["next_attempt"])
    assert nxt >= t0 + datetime.timedelta(seconds=min_backoff), (t0, nxt, st)
    if min_backoff:
        assert nxt <= t0 + datetime.timedelta(seconds=min_backoff * 3 + 600), (t0, nxt)
    assert st["certificates"], "status lost the active certificate: %s" % st

    # Fault gone: the next run renews.
    proxy.clear()
    res = acmectl(*args, timeout=400)
    assert_ok(res)
    figures.add("issuances")
    new_fp = active_fingerprint(store, domain)
    assert new_fp and new_fp != old, "no new certificate after the fault was removed"
    check_active(store, domain, names)
    st = status(acmectl, store, domain)
    assert not st.get("last_error"), st
    return line


@pytest.mark.parametrize("case", FAULTS, ids=[f[0] for f in FAULTS])
def test_fault(acmectl, pebble, webroot_server, faulty, test_dir, case):
    name, fault_kw, pattern, min_backoff = case
    domain = re.sub(r"[^a-z0-9]+", "-", name.lower()) + ".example"
    line = run_fault(acmectl, pebble, webroot_server, faulty, test_dir, fault_kw, pattern,
                     min_backoff, domain)
    print("%s -> %s" % (name, line))


def test_fault_stalled_body(acmectl, pebble, webroot_server, faulty, test_dir):
    """A body that stops half-way: the request times out (30 s) instead of hanging."""
    name, fault_kw, pattern, min_backoff = STALL
    t0 = time.monotonic()
    run_fault(acmectl, pebble, webroot_server, faulty, test_dir, fault_kw, pattern,
              min_backoff, "stall.example")
    assert time.monotonic() - t0 < 240


def test_transient_503_with_retry_after_then_success(acmectl, pebble, webroot_server, faulty,
                                                     test_dir):
    """One 503 with a short Retry-After on a poll: the drive either waits and
    succeeds in the same run or fails cleanly and succeeds on the next."""
    store = os.path.join(test_dir, "store")
    args = issue_args(store, faulty, ["transient.example"], webroot=webroot_server.root)
    fault = faulty.add(Fault("status", r"^POST /(authZ|my-order)/", status=503, retry_after=2,
                             times=1))
    res = acmectl(*args)
    figures.add("faults", fault.hits)
    if res.returncode != 0:
        error_line(res)
        res = acmectl(*args)
    assert_ok(res)
    figures.add("issuances")
    check_active(store, "transient.example", ["transient.example"])
