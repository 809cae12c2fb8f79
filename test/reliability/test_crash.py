"""Crash safety: acmectl drives of several domains SIGKILLed at random moments, then resumed; at the end every domain is valid, every store file parses, no temp files or held locks remain and there is one account. Also Pebble's own chaos (nonce rejection, authz reuse)."""
import os
import random
import signal
import subprocess
import time

import pytest

import figures
from faultproxy import FaultProxy
from relutil import (accounts, age_temp_files, assert_ok, check_active, held_locks,
                     issue_args, parse_problems, status, temp_files)

LONG = os.environ.get("ACME_RELIABILITY_LONG") == "1"
ROUNDS = int(os.environ.get("ACME_RELIABILITY_ROUNDS", "30" if LONG else "12"))


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(30)


def _finish(acmectl, args, tries=3):
    """Run a drive to success (a resumed order may need a second pass)."""
    res = None
    for _ in range(tries):
        res = acmectl(*args, timeout=300)
        if res.returncode == 0:
            return res
        time.sleep(1)
    assert_ok(res)


def _check_store(acmectl, store, domains, proxy):
    corrupt = parse_problems(store)
    figures.add("corrupt", len(corrupt))
    assert not corrupt, corrupt
    assert not held_locks(store), "orphaned locks"
    # Crash leftovers are swept by the store once old: make them old, open the store.
    age_temp_files(store)
    acmectl("-s", store, "status")
    assert not temp_files(store), temp_files(store)
    assert len(accounts(store)) == 1, accounts(store)
    for d, names in domains.items():
        check_active(store, d, names)
        st = status(acmectl, store, d)
        assert st["state"] == "valid", st


def test_sigkill_during_issuance(acmectl, pebble, webroot_server, test_dir):
    """SIGKILL running drives (several domains at once) at random moments, ROUNDS times."""
    rng = random.Random(int(os.environ.get("ACME_RELIABILITY_SEED", "8555")))
    proxy = FaultProxy(pebble).start()
    try:
        store = os.path.join(test_dir, "store")
        domains = {"k%d.example" % i: ["k%d.example" % i, "www.k%d.example" % i]
                   for i in range(4)}
        argv = {d: issue_args(store, proxy, names, webroot=webroot_server.root)
                for d, names in domains.items()}
        kills = 0
        first = next(iter(argv))
        for rnd in range(ROUNDS):
            # Validation is slowed now and then so kills also land while polling.
            delay = rng.choice([0, 0, 0.5, 1.5])
            webroot_server.delay = delay
            # The first rounds drive one domain (kills during account creation);
            # then the account exists and all domains are driven at once.
            todo = {first: argv[first]} if rnd < 2 else argv
            if rnd == 2:
                _finish(acmectl, argv[first])
            procs = {d: acmectl.popen(*a, stdout=open(os.devnull, "w"),
                                      stderr=open(os.devnull, "w")) for d, a in todo.items()}
            # An unslowed drive lasts a few hundred milliseconds: kill inside it.
            time.sleep(rng.uniform(0.02, 0.3 + delay))
            for d, proc in procs.items():
                if proc.poll() is None:
                    kills += 1
                _kill_group(proc)
                if proc.returncode == 0 and rng.random() < 0.5:
                    acmectl("-s", store, "renew", d)   # renew again, more to kill
            assert not held_locks(store), "a killed drive left its lock held"
        figures.add("kills", kills)
        webroot_server.delay = 0
        for d, a in argv.items():
            _finish(acmectl, a)
        figures.add("issuances", len(domains))
        _check_store(acmectl, store, domains, proxy)
        assert len(proxy.accounts) == 1, "accounts created at the CA: %s" % proxy.accounts
        assert kills >= ROUNDS, "too few drives were actually killed (%d)" % kills
        print("rounds %d, kills %d" % (ROUNDS, kills))
    finally:
        proxy.stop()


def test_pebble_chaos_many_issuances(acmectl, pebble_factory, webroot_server_factory, test_dir):
    """PEBBLE_WFE_NONCEREJECT=50 and PEBBLE_AUTHZREUSE=50 over 10 domains (and a
    renewal of half of them): every domain ends valid."""
    pebble = pebble_factory(env={"PEBBLE_WFE_NONCEREJECT": "50", "PEBBLE_AUTHZREUSE": "50"})
    web = webroot_server_factory(pebble)
    proxy = FaultProxy(pebble).start()
    try:
        store = os.path.join(test_dir, "store")
        n = 20 if LONG else 10
        domains = {"c%d.example" % i: ["c%d.example" % i, "www.c%d.example" % i]
                   for i in range(n)}
        # A drive that fails is run again, as httpd's watchdog would after its
        # backoff; at 50 % rejection a POST's bounded badNonce retry (5 tries)
        # still gives up now and then, and nothing but badNonce may fail.
        reruns = []

        def drive_all(batch):
            procs = [(d, acmectl.popen(*issue_args(store, proxy, domains[d], webroot=web.root),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)) for d in batch]
            failed = []
            for d, proc in procs:
                err = proc.communicate(timeout=300)[1]
                if proc.returncode != 0:
                    assert "badNonce" in err, "issuance of %s failed under chaos: %s" % (d, err)
                    failed.append(d)
            return failed

        pending = list(domains)
        batches = [pending[:1]] + [pending[i:i + 4] for i in range(1, len(pending), 4)]
        for batch in batches:
            for attempt in range(4):
                batch = drive_all(batch)
                if not batch:
                    break
                reruns.extend(batch)
            assert not batch, "still failing after 4 drives: %s" % batch
        for d in list(domains)[: n // 2]:
            assert_ok(acmectl("-s", store, "renew", d))
            _finish(acmectl, issue_args(store, proxy, domains[d], webroot=web.root), tries=4)
        figures.add("issuances", n + n // 2)
        bad_nonce = proxy.bad_nonces
        _check_store(acmectl, store, domains, proxy)
        assert len(proxy.accounts) == 1, proxy.accounts
        print("chaos: %d issuances, %d drives re-run after badNonce, Pebble sent %d badNonce "
              "rejections" % (n + n // 2, len(reruns), bad_nonce))
    finally:
        proxy.stop()


def test_concurrent_first_issuances_one_account(acmectl, pebble, webroot_server, test_dir):
    """Four acmectl processes on a fresh store at once: one account at the CA."""
    proxy = FaultProxy(pebble).start()
    try:
        store = os.path.join(test_dir, "store")
        procs = [acmectl.popen(*issue_args(store, proxy, ["p%d.example" % i],
                                           webroot=webroot_server.root),
                               stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
                 for i in range(4)]
        assert all(p.wait(300) == 0 for p in procs)
        figures.add("issuances", 4)
        assert len(accounts(store)) == 1
        assert len(proxy.accounts) == 1, "accounts created at the CA: %d" % len(proxy.accounts)
    finally:
        proxy.stop()
