"""The privilege boundary: a racer running as the httpd User (setpriv) swaps store entries for symlinks, plants hard links, odd files and crash leftovers while httpd is restarted again and again, and a CGI script writes to every descriptor it has; root-owned canaries keep owner, mode and content, domains/ only ever holds root's plain files, httpd keeps (re)starting, and nothing but a verified new set makes it restart."""
import base64
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import threading
import time

import figures
from fixtures.ca import make_dir
from fixtures.httpd import MODULE_DIR, wait_for
from relutil import assert_ok, check_active, issue_args

HERE = os.path.dirname(os.path.abspath(__file__))
LONG = os.environ.get("ACME_RELIABILITY_LONG") == "1"
RESTARTS = int(os.environ.get("ACME_RELIABILITY_RESTARTS", "100" if LONG else "30"))
USER_GROUPS = ("staging", "accounts", "challenges", "state")
AS_WWW = ["setpriv", "--reuid=www-data", "--regid=www-data", "--clear-groups"]
WWW = pwd.getpwnam("www-data")
ISSUE_TIMEOUT = 120


def _give(path, recursive=False):
    """Hand a path to the User, as if it had made it itself (links not followed)."""
    os.lchown(path, WWW.pw_uid, WWW.pw_gid)
    if recursive:
        for root, dirs, files in os.walk(path):
            for n in dirs + files:
                os.lchown(os.path.join(root, n), WWW.pw_uid, WWW.pw_gid)


class Canaries:
    """Root-owned files and directories outside the store that nothing may change:
    their owner, mode and content (directories: their listing) are compared."""

    def __init__(self, base, n=6):
        self.dir = make_dir(base, "canary")
        self.files = []
        for i in range(n):
            p = os.path.join(self.dir, "f%d" % i)
            with open(p, "w") as f:
                f.write("CANARY %d\n" % i)
            os.chmod(p, 0o600)
            self.files.append(p)
        self.sub = make_dir(self.dir, "sub")
        with open(os.path.join(self.sub, "g"), "w") as f:
            f.write("CANARY sub\n")
        os.chmod(os.path.join(self.sub, "g"), 0o600)
        self.before = self._state()

    def add_dir(self, name, items):
        """Another canary directory with these files (name -> bytes)."""
        d = make_dir(self.dir, name)
        for k, v in items.items():
            with open(os.path.join(d, k), "wb") as f:
                f.write(v)
            os.chmod(os.path.join(d, k), 0o600)
        self.before = self._state()
        return d

    def _state(self):
        out = {}
        for root, dirs, files in os.walk(self.dir):
            for n in [root] + [os.path.join(root, f) for f in files]:
                st = os.lstat(n)
                content = sorted(os.listdir(n)) if n == root else open(n, "rb").read()
                out[n] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), content)
        return out

    def changed(self):
        now = self._state()
        return sorted(k for k in set(self.before) | set(now) if self.before.get(k) != now.get(k))


class DomainsWatch(threading.Thread):
    """Looks at domains/ every few milliseconds while the racer runs: a symlink,
    or anything not a plain root-owned file with one link, is a violation."""

    def __init__(self, domains):
        super().__init__(daemon=True)
        self.domains = str(domains)
        self.violations = set()
        self.scans = 0
        self.done = threading.Event()

    def _scan(self):
        for e in os.scandir(self.domains):
            if e.is_symlink():
                self.violations.add("symlink %s -> %s" % (e.path, os.readlink(e.path)))
                continue
            if not e.is_dir(follow_symlinks=False):
                continue
            for f in os.scandir(e.path):
                st = f.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode) or st.st_uid != 0 or st.st_nlink != 1:
                    self.violations.add("%s uid %d nlink %d mode %o" % (
                        f.path, st.st_uid, st.st_nlink, st.st_mode))

    def run(self):
        while not self.done.is_set():
            try:
                self._scan()
            except OSError:
                pass        # an entry renamed away while looking
            self.scans += 1
            time.sleep(0.01)

    def stop(self):
        self.done.set()
        self.join(10)
        return sorted(self.violations)


def race(h, test_dir, cfg, restarts):
    """Runs racer.py as the User with cfg while httpd restarts `restarts` times
    (each must succeed); returns the racer's report."""
    ctl = make_dir(test_dir, "racer")
    _give(ctl)
    cfg = dict(cfg, stop=os.path.join(ctl, "stop"), report=os.path.join(ctl, "report.json"))
    cfg_path = os.path.join(ctl, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    watch = DomainsWatch(h.store_path("domains"))
    watch.start()
    racer = subprocess.Popen(AS_WWW + [sys.executable, os.path.join(HERE, "racer.py"), cfg_path],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    starts = h.starts()
    failed = None
    try:
        time.sleep(0.5)
        for i in range(restarts):
            try:
                h.graceful(timeout=60)  # httpd keeps restarting
            except (AssertionError, RuntimeError) as e:
                failed = "restart %d of %d failed: %s" % (i + 1, restarts, e)
                break
            figures.add("privilege_races")
    finally:
        open(cfg["stop"], "w").close()
        out = racer.communicate(timeout=60)[0]
        violations = watch.stop()
    assert racer.returncode == 0, out
    with open(cfg["report"]) as f:
        report = json.load(f)
    report["violations"] = violations
    report["scans"] = watch.scans
    report["restart_failed"] = failed
    # no restart but the ones asked for: a racer cannot cause one
    report["extra_restarts"] = h.starts() - starts - restarts
    return report


def check_outcome(h, can, report):
    changed = can.changed()
    figures.add("root_files_changed", len(changed))
    print("racer: %s" % report)
    assert not changed, "root-owned files changed: %s" % changed
    assert not report["violations"], report["violations"]
    assert not report["restart_failed"], report["restart_failed"]
    assert report["extra_restarts"] == 0, report
    assert "graceful restart to activate" not in h.error_log()
    assert h.running()


def _swap_pair(real, link, target):
    """A real directory of the User's (with a file and a subdirectory) and a
    symlink to `target` next to it, for the racer to exchange."""
    os.makedirs(os.path.join(real, "s"))
    with open(os.path.join(real, "f"), "w") as f:
        f.write("user's\n")
    os.symlink(target, link)
    _give(real, recursive=True)
    _give(link)
    return [str(real), str(link)]


def test_racer_against_ownership_step_and_sweep(httpd_factory, pebble, test_dir):
    """At every (re)start the parent used to chown and sweep the User's groups by
    path: entries swapped for symlinks to root's directories, crash leftovers
    whose inner directory is swapped, and hard links to root's files must not
    make root chown or delete anything outside."""
    h = httpd_factory(pebble)
    h.acme["ACMEActivation"] = "manual"
    h.ssl_vhost("own.test")
    h.start()
    wait_for(lambda: (h.store_path("domains", "own.test", "fullchain.pem")).exists()
             or "new certificate is ready" in h.error_log(), ISSUE_TIMEOUT, interval=1,
             what="a first certificate")
    h.graceful()
    can = Canaries(test_dir)
    pairs, keep_old = [], []
    for g in USER_GROUPS:
        gd = h.store_path(g)
        for i in range(6):
            pairs.append(_swap_pair(gd / ("race%d" % i), gd / ("race%d.lnk" % i), can.dir))
        # an interrupted deletion, old enough to be swept, its inner directory swapped
        leftover = gd / ".del.race.1.1"
        os.makedirs(leftover / "a")
        pairs.append(_swap_pair(leftover / "a" / "sub", leftover / "a" / "sub.lnk", can.dir))
        _give(leftover, recursive=True)
        keep_old.append(str(leftover))
        # a hard link to root's file (the User makes one where fs.protected_hardlinks=0)
        os.link(can.files[USER_GROUPS.index(g)], gd / "hardlink")
    report = race(h, test_dir, {"exchange": pairs, "keep_old": keep_old}, RESTARTS)
    check_outcome(h, can, report)


def _issue_sets(acmectl, pebble, dns_command, test_dir, name, n):
    """n complete certificate sets for name from Pebble (acmectl, separate stores),
    as {item: base64} with meta.json last, the way the drive stages them."""
    sets = []
    for i in range(n):
        store = os.path.join(test_dir, "set%d" % i)
        assert_ok(acmectl(*issue_args(store, pebble, [name], dns=dns_command.path)))
        figures.add("issuances")
        d = os.path.join(store, "domains", name)
        items = sorted(os.listdir(d), key=lambda k: (k == "meta.json", k))
        sets.append({k: base64.b64encode(open(os.path.join(d, k), "rb").read()).decode()
                     for k in items})
    return sets


def test_racer_against_activation(httpd_factory, pebble, dns_command, acmectl, test_dir):
    """Good and bad sets are staged again and again while the staging entry is
    swapped with a symlink to a root directory holding a complete set, and each
    item with symlinks and hard links to root's files: the parent activates
    only sets it read as plain files and verified, copied into root's files."""
    name = "race.test"
    sets = _issue_sets(acmectl, pebble, dns_command, test_dir, name, 4)
    h = httpd_factory(pebble)
    h.acme["ACMEActivation"] = "manual"
    h.ssl_vhost(name)
    h.start()
    can = Canaries(test_dir)
    decoded = {k: base64.b64decode(v) for k, v in sets[0].items()}
    set_dir = can.add_dir("set", decoded)
    staging = h.store_path("staging")
    entry = staging / name
    if not entry.exists():
        entry.mkdir()
    _give(entry)
    swap = staging / (name + ".swap")
    os.symlink(set_dir, swap)
    _give(swap)
    pairs = [[str(entry), str(swap)]]
    for i, item in enumerate(decoded):
        link = staging / (".lnk." + item)
        os.symlink(can.files[i % len(can.files)], link)
        _give(link)
        hard = staging / (".hl." + item)
        os.link(can.files[(i + 1) % len(can.files)], hard)
        pairs += [[str(entry / item), str(link)], [str(entry / item), str(hard)]]
    cfg = {"exchange": pairs, "quiet": 0.7,
           "stage": {"dirs": [str(entry), str(swap)], "sets": sets, "bad_every": 3},
           "hold_lock": str(h.store_path("state", name, ".lock"))}
    report = race(h, test_dir, cfg, RESTARTS)
    check_outcome(h, can, report)
    activated = h.error_log().count("ACMEDomain %s: new certificate activated" % name)
    print("activations: %d of %d restarts" % (activated, RESTARTS))
    assert activated > 0, "the race never reached an activation"
    check_active(str(h.store), name, [name])
    assert h.is_pebble_cert(h.served_cert(name))


MAKE_ODD = r'''
import os, socket, sys
for g in sys.argv[2:]:
    gd = os.path.join(sys.argv[1], g)
    d = os.path.join(gd, "deep")
    for i in range(40):
        d = os.path.join(d, "d")
    os.makedirs(d)
    os.mkfifo(os.path.join(gd, "fifo"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(gd, "sock"))
    os.mkdir(os.path.join(gd, "closed"))
    os.chmod(os.path.join(gd, "closed"), 0)
    os.symlink("/etc", os.path.join(gd, "etc"))
    for i in range(100000):
        os.close(os.open(os.path.join(gd, "n%d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
# a staged set of odd files for a configured domain: each is refused, once
e = os.path.join(sys.argv[1], "staging", "odd.test")
os.makedirs(e, exist_ok=True)
os.mkfifo(os.path.join(e, "fullchain.ec256.pem"))
os.symlink("/etc/passwd", os.path.join(e, "privkey.ec256.pem"))
s = socket.socket(socket.AF_UNIX)
s.bind(os.path.join(e, "fullchain.pem"))
with open(os.path.join(e, "meta.json"), "w") as f:
    f.write("{}")
'''


def test_odd_things_in_user_groups_never_stop_httpd(httpd_factory, pebble, test_dir):
    """Deep trees, FIFOs, sockets, unreadable directories, symlinks and 100,000
    entries in every group of the User: httpd starts, restarts, and says once
    per start what it found in staging and what it expected."""
    from fixtures.ca import free_port
    h = httpd_factory(pebble)
    h.ca_url = "https://127.0.0.1:%d/dir" % free_port()     # no drive needed
    h.ssl_vhost("odd.test")
    h.start()                                   # makes the store's groups
    # made while httpd is stopped: the parent's look at start-up, not a race
    # with the child's drive (which removes the set it cannot use), is what
    # must see them
    h.stop()
    can = Canaries(test_dir)
    for g in USER_GROUPS:
        os.link(can.files[0], h.store_path(g, "hardlink"))
    r = subprocess.run(AS_WWW + [sys.executable, "-c", MAKE_ODD, str(h.store)] + list(USER_GROUPS),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    h.start(timeout=120)
    for _ in range(3):
        h.graceful(timeout=120)
        figures.add("privilege_races")
    assert h.running()
    served = h.served_cert("odd.test")          # the fallback, still served
    assert served is not None
    log = h.error_log()
    refused = [l for l in log.splitlines() if "staged certificate is NOT activated" in l]
    # logged once per start at most (not per look), until the drive removes it
    assert 1 <= len(refused) <= 4, refused
    assert "staging/odd.test/" in refused[0] and "expected a regular file" in refused[0]
    wait_for(lambda: "staged certificates are removed" in h.error_log(), 30,
             what="the drive (as the User) removing the staged set it cannot use")
    changed = can.changed()
    figures.add("root_files_changed", len(changed))
    assert not changed, changed


CGI = r'''#!/usr/bin/python3
import fcntl, os, sys
fds = sorted(int(f) for f in os.listdir("/proc/self/fd"))
lines = []
for fd in fds:
    try:
        lines.append("%d %s" % (fd, os.readlink("/proc/self/fd/%d" % fd)))
    except OSError:
        pass
sys.stdout.write("Content-Type: text/plain\r\n\r\n" + "\n".join(lines) + "\n")
sys.stdout.flush()
for fd in fds:
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        os.write(fd, b"S" * 16)
    except OSError:
        pass
'''


def test_cgi_writing_to_every_descriptor_cannot_restart_httpd(httpd_factory, pebble):
    """A CGI script (mod_cgid) lists its descriptors and writes to every one: the
    activation wake-up pipe is not among them, and even a forged wake-up would
    make the parent restart only for a new verified set."""
    h = httpd_factory(pebble)
    cgi = h.root / "cgi-bin"
    cgi.mkdir()
    (cgi / "fds.py").write_text(CGI)
    os.chmod(cgi / "fds.py", 0o755)
    h.add("LoadModule cgid_module %s/mod_cgid.so" % MODULE_DIR,
          'ScriptAlias /cgi-bin/ "%s/"' % cgi,
          '<Directory "%s">' % cgi, "  Options +ExecCGI", "  Require all granted", "</Directory>")
    h.ssl_vhost("cgi.test")
    h.start()
    wait_for(lambda: h.is_pebble_cert(h.served_cert("cgi.test")), ISSUE_TIMEOUT, interval=1,
             what="the certificate, activated by the module's own restart")
    time.sleep(3)
    starts, restarts = h.starts(), h.error_log().count("graceful restart to activate")
    seen = []
    for _ in range(5):
        status, _, body = h.request("/cgi-bin/fds.py", "admin.test", port=h.admin_port)
        assert status == 200, body
        seen.append(body.decode(errors="replace"))
        figures.add("privilege_races")
    time.sleep(15)      # the watcher at once, the monitor every 10 s
    print("CGI descriptors:\n%s" % seen[-1])
    assert h.starts() == starts, "a CGI script made httpd restart"
    assert h.error_log().count("graceful restart to activate") == restarts
    assert h.running()
