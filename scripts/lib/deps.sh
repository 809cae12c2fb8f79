# scripts/lib/deps.sh: the Debian package lists and the "install only what is missing" step shared by scripts/check and scripts/demo (sourced, bash).

# What building and running the demo needs (httpd, Pebble, Python test helpers).
ACME_DEMO_PACKAGES=(build-essential autoconf automake libtool pkg-config
                    apache2 apache2-dev libapr1-dev libaprutil1-dev libssl-dev
                    libjansson-dev libcurl4-openssl-dev pebble
                    python3-pytest python3-cryptography openssl curl)
# The second CA of the tests, smallstep step-ca, built from Debian's Go sources (test/stepca/).
ACME_STEPCA_PACKAGES=(golang-go golang-github-smallstep-certificates-dev)
# Everything scripts/check uses on top: unit tests, clang/libFuzzer, Redis, load and memory tools, strace,
# step-ca, BIND (dns-01 against a real DNS server, nsupdate, dig) and chromium (the status page).
ACME_CHECK_PACKAGES=("${ACME_DEMO_PACKAGES[@]}" check clang libclang-rt-14-dev
                     redis-server libhiredis-dev wrk valgrind strace "${ACME_STEPCA_PACKAGES[@]}"
                     bind9 bind9-dnsutils chromium)
# What bench/run needs on top of the demo's: load and memory tools and the peer certbot.
ACME_BENCH_PACKAGES=("${ACME_DEMO_PACKAGES[@]}" wrk valgrind certbot)
# Building, checking and installing the Debian package (debian/, test/package) and its man pages.
ACME_DEB_PACKAGES=(debhelper dpkg-dev lintian scdoc apache2-dev libapr1-dev libaprutil1-dev
                   libssl-dev libjansson-dev libcurl4-openssl-dev libhiredis-dev pkg-config check)

# as_root CMD...: runs CMD as root (directly, or through sudo).
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else echo "${ACME_SCRIPT:-scripts}: need root (or sudo) for: $*" >&2; return 1
    fi
}

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# install_packages PKG...: apt-get installs the packages that are not installed yet.
install_packages() {
    local missing=() pkg
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "${ACME_SCRIPT:-scripts}: dpkg-query not found: this script expects Debian 12" >&2
        return 1
    fi
    for pkg in "$@"; do
        is_installed "$pkg" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all $# Debian packages present"
        return 0
    fi
    echo "installing: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
}

# Debian starts the packaged apache2 on port 80 after installing it; the
# tests and the demo run their own httpd, so the system one is not needed.
stop_system_apache() {
    if [ -f /var/run/apache2/apache2.pid ] || [ -n "${CI:-}" ]; then
        as_root service apache2 stop >/dev/null 2>&1 || true
    fi
    return 0
}
