#!/usr/bin/python3
"""test/reliability/racer.py: what a hostile process running as the httpd User does while httpd restarts: swaps store entries with symlinks (renameat2 RENAME_EXCHANGE) in a loop, keeps planted crash leftovers looking old, and keeps staging certificate sets (good and bad) for the root parent to pick up.

Usage (as the User, e.g. under setpriv): racer.py CONFIG.json. Runs until the
config's "stop" file exists, then writes {"exchanges": N, "stagings": M} to
its "report" file. Config keys: stop, report, exchange ([[a, b], ...]),
keep_old ([path, ...]), stage ({"dirs": [...], "sets": [{item: base64}, ...],
"bad_every": N}; the first dir is made again when it is gone), quiet
(seconds: every other such period every pair is put back and nothing is
swapped, so some restarts find a complete set), hold_lock (a file to flock
for the whole run: the drive then leaves the domain, and its staging, alone).
"""
import base64
import ctypes
import fcntl
import json
import os
import stat
import sys
import time

AT_FDCWD = -100
RENAME_EXCHANGE = 2
OLD = 946684800     # 2000-01-01: older than any sweep's age limit

_libc = ctypes.CDLL(None, use_errno=True)
_libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                            ctypes.c_uint]


def exchange(a, b):
    """Atomically swap two names (both must exist); True when it happened."""
    return _libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) == 0


def is_real_dir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def own_or_missing(path):
    """Only the racer's own plain files are rewritten: planted links stay in play."""
    try:
        st = os.lstat(path)
    except OSError:
        return True
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_nlink == 1


def write_set(d, items, bad):
    """The items of one set into directory d (temp file, rename), a broken chain when bad."""
    for name, data in items.items():
        if not own_or_missing(os.path.join(d, name)):
            continue
        if bad and name.startswith("fullchain"):
            data = b"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"
        tmp = os.path.join(d, ".racer.%s" % name)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, os.path.join(d, name))
        except OSError:
            pass        # the directory was swapped away meanwhile: next round


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    pairs = cfg.get("exchange", [])
    keep_old = cfg.get("keep_old", [])
    stage = cfg.get("stage")
    sets = [{k: base64.b64decode(v) for k, v in s.items()} for s in (stage or {}).get("sets", [])]
    quiet = cfg.get("quiet", 0)
    swapped = [False] * len(pairs)      # odd number of exchanges: not in its place
    exchanges = stagings = rounds = 0
    calm_staged = None
    if cfg.get("hold_lock"):
        lock = open(cfg["hold_lock"], "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    while not os.path.exists(cfg["stop"]):
        rounds += 1
        phase = int(time.monotonic() / quiet) if quiet else 0
        calm = quiet and phase % 2 == 1
        for i, (a, b) in enumerate(pairs):
            if (not calm or swapped[i]) and exchange(a, b):
                exchanges += 1
                swapped[i] = not swapped[i]
        if rounds % 25 == 0:
            for p in keep_old:
                try:
                    os.utime(p, (OLD, OLD), follow_symlinks=False)
                except OSError:
                    pass
        # hostile: a good or bad set rewritten every few rounds; calm: one good
        # set, staged once and left alone
        if sets and ((not calm and rounds % 25 == 0) or (calm and calm_staged != phase)):
            n = phase // 2 if calm else rounds // 25
            bad = not calm and stage.get("bad_every") and n % stage["bad_every"] == 0
            if not os.path.lexists(stage["dirs"][0]):
                os.mkdir(stage["dirs"][0])
            for d in stage["dirs"]:
                if is_real_dir(d):
                    write_set(d, sets[n % len(sets)], bad)
                    stagings += 1
            calm_staged = phase if calm else None
        os.sched_yield()
    with open(cfg["report"], "w") as f:
        json.dump({"exchanges": exchanges, "stagings": stagings, "rounds": rounds}, f)


if __name__ == "__main__":
    main()
