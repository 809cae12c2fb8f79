"""Counters the reliability tests record (faults injected, kills, bad inputs, ...) for the summary line printed at the end of the run."""
import json
import os
import threading

_LOCK = threading.Lock()
# Order and wording of the summary line.
NAMES = [
    ("faults", "faults injected"),
    ("kills", "kills"),
    ("bad_inputs", "bad inputs"),
    ("fuzz_execs", "fuzz execs"),
    ("activation_failed", "requests failed during activations"),
    ("activation_requests", None),
    ("certs_lost", "certificates lost"),
    ("corrupt", "store files corrupt"),
    ("bad_activated", "bad material activated"),
    ("issuances", "issuances"),
    ("valgrind_errors", "valgrind errors"),
    ("hostile_ca", "hostile CA answers"),
    ("plaintext", "plaintext requests"),
    ("foreign_hooks", "hooks run for foreign names"),
]
COUNTS = {k: 0 for k, _ in NAMES}


def add(name, n=1):
    """Adds n to counter `name`."""
    assert name in COUNTS, name
    with _LOCK:
        COUNTS[name] += int(n)


def summary():
    c = dict(COUNTS)
    return ("faults injected: %(faults)d, kills: %(kills)d, bad inputs: %(bad_inputs)d "
            "(fuzz execs: %(fuzz_execs)d), requests failed during activations: "
            "%(activation_failed)d of %(activation_requests)d, certificates lost: %(certs_lost)d, "
            "store files corrupt: %(corrupt)d, bad material activated: %(bad_activated)d, "
            "issuances: %(issuances)d, valgrind errors: %(valgrind_errors)d, "
            "hostile CA answers: %(hostile_ca)d, plaintext requests: %(plaintext)d, "
            "hooks run for foreign names: %(foreign_hooks)d" % c)


def save(path):
    with open(path, "w") as f:
        json.dump(dict(COUNTS, summary=summary()), f, indent=2)
