#!/bin/bash
# test/stepca/build.sh: builds the test CA step-ca 0.19 offline from Debian's Go source packages, cached by source hash; prints the binary's path.
#
# Usage: test/stepca/build.sh [CACHE_DIR]     (default $STEPCA_CACHE, else /var/tmp/mod_acme-stepca)
# Needs (scripts/lib/deps.sh ACME_STEPCA_PACKAGES): golang-go golang-github-smallstep-certificates-dev
#
# The binary is CACHE_DIR/<hash>/step-ca-test, where <hash> covers this script,
# main.go, testports.go and the versions of the Go packages: a second run with
# the same inputs prints the path at once (a build takes about a minute on
# two cores). It is stock step-ca code (Debian ships the library without
# upstream's cmd/step-ca, so main.go is a minimal entry point) with one test
# hook: STEPCA_HTTP01_PORT / STEPCA_TLSALPN01_PORT send http-01 / tls-alpn-01
# validation to those ports instead of 80 / 443 (testports.go, wrapped around
# two call sites of acme/api/handler.go by a go build -overlay).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${1:-${STEPCA_CACHE:-/var/tmp/mod_acme-stepca}}
SRC=/usr/share/gocode/src/github.com/smallstep/certificates/acme/api

for pkg in golang-go golang-github-smallstep-certificates-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || {
        echo "test/stepca/build.sh: Debian package $pkg is missing (scripts/check installs it)" >&2
        exit 1
    }
done
versions=$(dpkg-query -W -f='${Package}=${Version}\n' golang-go \
           golang-github-smallstep-certificates-dev 'golang-github-smallstep-*' 2>/dev/null | sort -u)
hash=$( { cat "$HERE/build.sh" "$HERE/main.go" "$HERE/testports.go"; echo "$versions"; } \
        | sha256sum | cut -c1-16)
OUT=$CACHE/$hash
BIN=$OUT/step-ca-test
if [ -x "$BIN" ]; then
    echo "$BIN"
    exit 0
fi

mkdir -p "$OUT/gopath/src/stepca-test/step-ca" "$OUT/overlay" "$OUT/home"
cp "$HERE/main.go" "$OUT/gopath/src/stepca-test/step-ca/main.go"
cp "$HERE/testports.go" "$OUT/overlay/testports.go"
# handler.go = Debian's with the two validation call sites wrapped by the hooks
sed -e 's|HTTPGet:   client.Get,|HTTPGet:   testPortsHTTPGet(client.Get),|' \
    -e 's|return tls.DialWithDialer(dialer, network, addr, config)|return tls.DialWithDialer(dialer, network, testPortsTLSAddr(addr), config)|' \
    "$SRC/handler.go" > "$OUT/overlay/handler.go"
if [ "$(diff "$SRC/handler.go" "$OUT/overlay/handler.go" | grep -c '^>')" != 2 ]; then
    echo "test/stepca/build.sh: the test-ports patch no longer applies to $SRC/handler.go" >&2
    exit 1
fi
cat > "$OUT/overlay/overlay.json" <<JSON
{"Replace": {
  "$SRC/handler.go": "$OUT/overlay/handler.go",
  "$SRC/zz_testports.go": "$OUT/overlay/testports.go"
}}
JSON
export GO111MODULE=off GOPATH=$OUT/gopath:/usr/share/gocode GOCACHE=$OUT/gocache GOFLAGS=-p=1 \
       HOME=$OUT/home
nice -n 10 go build -overlay "$OUT/overlay/overlay.json" -o "$BIN.tmp" stepca-test/step-ca >&2
mv "$BIN.tmp" "$BIN"
# the Go build cache is large and only speeds up a rebuild of the same inputs
rm -rf "$OUT/gocache" "$OUT/home"
"$BIN" version >&2
echo "$BIN"
