"""The Debian package: dpkg-buildpackage from Debian build dependencies only, lintian without errors, the files of a dpkg -x tree; then, as root, installed for real, a2enmod acme, the system apache2 on test ports gets a certificate from Pebble, purge keeps the store; the machine is left as it was."""
import gzip
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from fixtures.ca import free_port, wait_for
from fixtures.directives import registered
from fixtures.httpd import served_cert

REPO = Path(__file__).resolve().parents[2]
PKG = "libapache2-mod-acme"
STORE = Path("/var/lib/apache2/acme")
ETC = Path("/etc/apache2")
# What a2enmod/a2dismod and the maintainer scripts change, restored exactly afterwards.
STATE_DIRS = [ETC / "mods-enabled", ETC / "conf-enabled", ETC / "sites-enabled",
              Path("/var/lib/apache2/module"), Path("/var/lib/apache2/conf"),
              Path("/var/lib/apache2/site")]
BUILD_TIMEOUT = 1800    # generous: never assert speed


def run(cmd, timeout=300, env=None, cwd=None, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n"
                             f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def copy_sources(dest):
    """The tracked files (a clean tree: no build directories), else the tree without them."""
    r = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True)
    if r.returncode == 0 and r.stdout:
        for rel in r.stdout.decode().split("\0"):
            if rel and (REPO / rel).is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / rel, dest / rel)
        return
    shutil.copytree(REPO, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "build*", ".git", "autom4te.cache", "__pycache__"))


@pytest.fixture(scope="module")
def built():
    """Builds the package once: {"dir", "src", "deb", "changes", "log"}."""
    for tool in ("dpkg-buildpackage", "dpkg-checkbuilddeps", "lintian", "dh_apache2"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} not found: scripts/check installs the packages of "
                        "ACME_PACKAGE_PACKAGES (scripts/lib/deps.sh)")
    base = Path(tempfile.mkdtemp(prefix="acme-deb-", dir="/tmp"))
    src = base / "src"
    src.mkdir()
    copy_sources(src)
    # Every build dependency is a Debian package that is installed.
    run(["dpkg-checkbuilddeps"], cwd=src)
    # The unit tests and the debug symbols package are other steps' business.
    env = dict(os.environ,
               DEB_BUILD_OPTIONS=f"nocheck noautodbgsym parallel={os.cpu_count() or 2}")
    log = base / "build.log"
    with open(log, "w") as f:
        r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                           stdout=f, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    if r.returncode != 0:
        pytest.fail("dpkg-buildpackage failed:\n" + log.read_text()[-4000:])
    debs = [p for p in base.glob(f"{PKG}_*.deb")]
    changes = list(base.glob(f"{PKG}_*.changes"))
    assert len(debs) == 1 and len(changes) == 1, os.listdir(base)
    yield {"dir": base, "src": src, "deb": debs[0], "changes": changes[0], "log": log}
    if os.environ.get("ACME_TEST_KEEP") != "1":
        shutil.rmtree(base, ignore_errors=True)


def test_lintian_reports_no_errors(built):
    r = run(["lintian", "--allow-root", "--fail-on", "error", "-I", "-E", "--pedantic",
             str(built["changes"])], timeout=600, check=False)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not re.search(r"^E: ", r.stdout, re.M), r.stdout


def test_files_of_the_package(built, tmp_path):
    tree = tmp_path / "x"
    run(["dpkg-deb", "-x", str(built["deb"]), str(tree)])
    run(["dpkg-deb", "-e", str(built["deb"]), str(tmp_path / "DEBIAN")])
    module = tree / "usr/lib/apache2/modules/mod_acme.so"
    assert module.is_file() and not (tree / "usr/lib/apache2/modules/mod_acme.la").exists()
    # the activation watcher lives next to the module (README "How activation works")
    wake = tree / "usr/lib/apache2/modules/mod_acme_wake"
    assert wake.is_file() and stat.S_IMODE(wake.stat().st_mode) == 0o755

    load = (tree / "etc/apache2/mods-available/acme.load").read_text()
    assert "LoadModule acme_module /usr/lib/apache2/modules/mod_acme.so" in load
    assert re.search(r"^# Depends: ssl$", load, re.M), load   # a2enmod acme enables ssl
    # mod_watchdog is compiled into Debian's httpd: nothing to load or depend on.
    assert "mod_watchdog.c" in run(["apache2", "-l"]).stdout
    assert "watchdog" not in load.lower().replace("mod_watchdog is compiled", "")
    conf = (tree / "etc/apache2/mods-available/acme.conf").read_text()
    assert re.search(r"^\s*ACMEStoreDir /var/lib/apache2/acme$", conf, re.M), conf
    conffiles = (tmp_path / "DEBIAN" / "conffiles").read_text().split()
    assert sorted(conffiles) == ["/etc/apache2/mods-available/acme.conf",
                                 "/etc/apache2/mods-available/acme.load"]
    store = tree / "var/lib/apache2/acme"
    assert store.is_dir() and stat.S_IMODE(store.stat().st_mode) == 0o755

    acmectl = tree / "usr/bin/acmectl"
    assert run([str(acmectl), "--version"]).stdout.startswith("acmectl ")
    for page, head in (("usr/share/man/man1/acmectl.1.gz", ".TH \"acmectl\" \"1\""),
                       ("usr/share/man/man8/mod_acme.8.gz", ".TH \"mod_acme\" \"8\"")):
        text = gzip.open(tree / page, "rt").read()
        assert head in text, text[:300]
    man = gzip.open(tree / "usr/share/man/man8/mod_acme.8.gz", "rt").read()
    # The packaged module registers exactly what its manual page documents.
    for name in registered([f"LoadModule acme_module {module}"], "mod_acme.c"):
        assert name.lstrip("<") in man, name

    control = (tmp_path / "DEBIAN" / "control").read_text()
    assert re.search(r"^Depends:.*apache2-api-\d+", control, re.M), control
    assert not (tmp_path / "DEBIAN" / "postinst").exists() or \
        "enmod" not in (tmp_path / "DEBIAN" / "postinst").read_text()   # not enabled on install
    assert "ACME_PURGE_STORE" in (tmp_path / "DEBIAN" / "postrm").read_text()
    assert (tree / "usr/share/doc" / PKG / "copyright").is_file()
    assert (tree / "usr/share/doc" / PKG / "examples/mod_acme.conf.example").is_file()
    for hook in ("nsupdate-hook", "acme-dns-hook"):        # README "dns-01 with a real DNS server"
        assert (tree / "usr/share/doc" / PKG / "examples" / hook).is_file(), hook


# -- installed for real ---------------------------------------------------------------------

def machine_state():
    """What the test may touch: enabled modules and their maintainer-script state,
    the service's boot enablement and the store."""
    state = {}
    for d in STATE_DIRS:
        for p in sorted(d.rglob("*")) if d.exists() else []:
            state[str(p)] = ("link", os.readlink(p)) if p.is_symlink() else (
                ("dir", None) if p.is_dir() else ("file", p.read_bytes()))
    state["rc.d"] = sorted(str(p) for p in Path("/etc").glob("rc?.d/*apache2*"))
    state["store"] = STORE.exists()
    return state


def restore(before):
    """Puts enabled modules and maintainer-script markers back as they were."""
    now = machine_state()
    for path in sorted(set(now) - set(before), reverse=True):
        if path.startswith("/"):
            p = Path(path)
            if p.is_symlink() or p.is_file():
                p.unlink()
            elif p.is_dir():
                shutil.rmtree(p)
    for path, entry in sorted(before.items()):
        if not path.startswith("/") or Path(path).exists() or Path(path).is_symlink():
            continue
        (kind, value), p = entry, Path(path)
        if kind == "dir":
            p.mkdir(parents=True, exist_ok=True)
        elif kind == "link":
            p.parent.mkdir(parents=True, exist_ok=True)
            p.symlink_to(value)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(value)


def installed():
    r = run(["dpkg-query", "-W", "-f=${Status}", PKG], check=False)
    return r.returncode == 0 and "installed" in r.stdout and "not-installed" not in r.stdout


def apache_env(conf):
    """apache2ctl's environment (it reads /etc/apache2/envvars) with the test's configuration."""
    return dict(os.environ, APACHE_ARGUMENTS=f"-f {conf}")


def system_pid():
    """The pid of a running system apache2 (its PidFile from envvars), or None."""
    r = run(["sh", "-c", ". /etc/apache2/envvars && echo $APACHE_PID_FILE"], check=False)
    try:
        pid = int(Path(r.stdout.strip()).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if os.path.exists(f"/proc/{pid}") else None


def stop_apache(conf):
    pid = system_pid()
    if not pid:
        return
    run(["apache2ctl", "stop"], env=apache_env(conf), check=False, timeout=60)
    try:
        wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 30, what="apache2 to stop")
    except TimeoutError:
        os.killpg(os.getpgid(pid), signal.SIGKILL)


def test_install_enable_serve_purge(built, pebble, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("installing the package needs root")
    if installed():
        pytest.skip(f"{PKG} is installed on this machine already: not touching it")
    if STORE.exists():
        pytest.skip(f"{STORE} exists already: not touching it")
    if system_pid():
        pytest.skip("the system apache2 is running (scripts/check stops it first)")
    before = machine_state()
    os.chmod(tmp_path, 0o755)
    https = free_port()
    conf = tmp_path / "apache2.conf"
    error_log = tmp_path / "error.log"
    conf.write_text(f"""# The system's apache2 with what a2enmod enabled, on test ports.
DefaultRuntimeDir ${{APACHE_RUN_DIR}}
PidFile ${{APACHE_PID_FILE}}
Mutex file:${{APACHE_LOCK_DIR}} default
User ${{APACHE_RUN_USER}}
Group ${{APACHE_RUN_GROUP}}
ErrorLog {error_log}
LogLevel warn acme:info
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf
Listen 127.0.0.1:{pebble.http_port}
Listen 127.0.0.1:{https} https
ACMECertificateAuthority {pebble.directory_url}
ACMECACertificateFile {pebble.ca_cert}
ACMETermsOfService accepted
ACMEContactEmail admin@example.org
ACMEPortMap 80:{pebble.http_port} 443:{https}
<VirtualHost 127.0.0.1:{https}>
    ServerName pkg.test
    SSLEngine on
    ACMEDomain
</VirtualHost>
""")
    try:
        run(["dpkg", "-i", str(built["deb"])])
        assert not (ETC / "mods-enabled/acme.load").exists(), "installing enabled the module"
        run(["a2enmod", "-q", "acme"])
        for mod in ("acme.load", "acme.conf", "ssl.load"):
            assert (ETC / "mods-enabled" / mod).exists(), mod

        run(["apache2ctl", "configtest"], env=apache_env(conf))
        run(["apache2ctl", "start"], env=apache_env(conf))
        cert = wait_for(lambda: (lambda c: c if "Pebble" in c.issuer.rfc4514_string() else None)(
            served_cert(https, "pkg.test")), 180, interval=1,
            what="the system apache2 to serve a Pebble certificate for pkg.test")
        key = STORE / "domains/pkg.test/privkey.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.stat().st_uid == 0
        assert (STORE / "state").stat().st_uid != 0        # the httpd User's
        status = run(["/usr/bin/acmectl", "-s", str(STORE), "status", "pkg.test"]).stdout
        assert '"state":"valid"' in status.replace(" ", "") and format(cert.serial_number, "x") in status
        stop_apache(conf)

        # Purge: configuration gone, the store with its keys kept (and said so).
        r = run(["dpkg", "--purge", PKG])
        assert f"kept {STORE}" in r.stderr, r.stderr
        for gone in (ETC / "mods-available/acme.load", ETC / "mods-available/acme.conf",
                     ETC / "mods-enabled/acme.load", Path("/usr/lib/apache2/modules/mod_acme.so"),
                     Path("/usr/bin/acmectl")):
            assert not gone.exists() and not gone.is_symlink(), gone
        assert key.is_file() and (STORE / "domains/pkg.test/fullchain.pem").is_file()
        assert list((STORE / "accounts").glob("*/account.pem"))

        # The admin says so: purge removes the store too.
        run(["dpkg", "-i", str(built["deb"])])
        run(["dpkg", "--purge", PKG], env=dict(os.environ, ACME_PURGE_STORE="yes"))
        assert not STORE.exists()
    finally:
        stop_apache(conf)
        if installed():
            run(["dpkg", "--purge", PKG], env=dict(os.environ, ACME_PURGE_STORE="yes"),
                check=False)
        shutil.rmtree(STORE, ignore_errors=True)
        restore(before)
        if error_log.exists():
            print(error_log.read_text()[-3000:])
    assert machine_state() == before, "the machine was not restored"
    assert system_pid() is None
