"""Store faults: a read-only and a full store file system make a renewal fail with a clear error, leave every file as it was (nothing half-written) and the next run after the fault succeeds."""
import hashlib
import os
import subprocess

import pytest

import figures
from relutil import (active_fingerprint, assert_ok, check_active, error_line, held_locks,
                     issue_args, parse_problems, temp_files)


def _mount(*args):
    return subprocess.run(["mount"] + list(args), capture_output=True, text=True)


def _umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True)


def _snapshot(store, skip=()):
    """path -> (sha256, mode) of every file; skip: names that may change."""
    out = {}
    for root, _, files in os.walk(store):
        for f in files:
            if f in skip:
                continue
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, store)] = (hashlib.sha256(fh.read()).hexdigest(),
                                                  os.stat(p).st_mode)
    return out


@pytest.fixture
def mounts():
    made = []
    yield made
    for m in reversed(made):
        _umount(m)


def _need_mount(res):
    if res.returncode != 0:
        pytest.skip("cannot mount here: %s" % res.stderr.strip())


def test_read_only_store(acmectl, pebble, webroot_server, test_dir, mounts):
    store = os.path.join(test_dir, "store")
    names = ["ro.example"]
    args = issue_args(store, pebble, names, webroot=webroot_server.root)
    assert_ok(acmectl(*args))
    figures.add("issuances")
    old = active_fingerprint(store, "ro.example")
    assert_ok(acmectl("-s", store, "renew", "ro.example"))
    before = _snapshot(store)

    _need_mount(_mount("--bind", store, store))
    mounts.append(store)
    _need_mount(_mount("-o", "remount,bind,ro", store))
    res = acmectl(*args)
    line = error_line(res)
    figures.add("faults")
    assert "Read-only" in res.stderr or "read-only" in res.stderr, res.stderr
    assert _snapshot(store) == before, "the read-only store changed?"
    _umount(store)
    mounts.remove(store)

    assert _snapshot(store) == before, "files changed although the store was read-only"
    assert active_fingerprint(store, "ro.example") == old
    assert_ok(acmectl(*args))
    figures.add("issuances")
    assert active_fingerprint(store, "ro.example") != old
    check_active(store, "ro.example", names)
    print("read-only store -> %s" % line)


def _fill(mount, leave):
    """Fill the file system at mount until about `leave` bytes are free."""
    filler = os.path.join(mount, "filler")
    with open(filler, "wb") as f:
        chunk = b"\0" * 65536
        try:
            while True:
                st = os.statvfs(mount)
                free = st.f_bavail * st.f_frsize
                if free <= leave:
                    break
                f.write(chunk[: min(len(chunk), max(4096, free - leave))])
                f.flush()
        except OSError:
            pass
    return filler


def test_full_disk(acmectl, pebble, webroot_server, test_dir, mounts):
    """ENOSPC at several points of a renewal (0 to 48 KiB left): each run fails
    cleanly or succeeds, nothing is half-written, the old set stays active
    until a verified new one replaces it."""
    mnt = os.path.join(test_dir, "small")
    os.mkdir(mnt)
    _need_mount(_mount("-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", mnt))
    mounts.append(mnt)
    store = os.path.join(mnt, "store")
    names = ["full.example", "www.full.example"]
    args = issue_args(store, pebble, names, webroot=webroot_server.root)
    assert_ok(acmectl(*args))
    figures.add("issuances")
    failures = 0
    for leave in (0, 4096, 8192, 16384, 24576, 49152):
        old = active_fingerprint(store, "full.example")
        acmectl("-s", store, "renew", "full.example")
        filler = _fill(mnt, leave)
        res = acmectl(*args)
        os.unlink(filler)
        if res.returncode != 0:
            failures += 1
            figures.add("faults")
            line = error_line(res)
            assert active_fingerprint(store, "full.example") == old, \
                "active certificate changed by a failed run (%s)" % line
            print("%6d bytes free -> %s" % (leave, line))
        else:
            print("%6d bytes free -> renewed" % leave)
        lost = active_fingerprint(store, "full.example") is None
        figures.add("certs_lost", int(lost))
        assert not lost
        check_active(store, "full.example", names)
        corrupt = parse_problems(store)
        figures.add("corrupt", len(corrupt))
        assert not corrupt, corrupt
        assert not temp_files(store), temp_files(store)
        assert not held_locks(store)
    assert failures >= 1, "the full disk never made a run fail"
    old = active_fingerprint(store, "full.example")
    acmectl("-s", store, "renew", "full.example")
    assert_ok(acmectl(*args))
    figures.add("issuances")
    assert active_fingerprint(store, "full.example") != old
    check_active(store, "full.example", names)
