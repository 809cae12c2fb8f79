"""Integration tests of STIR/SHAKEN certificates (RFC 9447/9448) with acmectl against the test STI-CA: issuance for an SPC and for TN ranges, token files and token commands, every token mismatch refused before the CA sees it, the CA's own checks, and status, renew and revoke of such certificates."""
import glob
import json
import os
import re
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fixtures import certs
from fixtures.ca import make_dir
from fixtures.pyacme import AcmeError, Client
from fixtures.stica import (StiCa, TNAUTHLIST_OID, TokenAuthority, TokenCommand, b64u,
                            fingerprint, tn_list, tn_one, tn_range, tn_spc, tn_value)

EMAIL = "noc@provider.example"
SPC_1234 = tn_value(tn_spc("1234"))
RANGES_SPEC = "1234,12155550000-12155550099,tn:12155551234"
RANGES_DER = tn_list(tn_spc("1234"), tn_range("12155550000", 100), tn_one("12155551234"))


@pytest.fixture
def authority(test_dir):
    return TokenAuthority(make_dir(test_dir, "ta"))


@pytest.fixture
def sti_ca(workdir, authority):
    ca = StiCa(workdir, authority).start()
    yield ca
    ca.stop()


def issue_args(store, ca, spec, source):
    """acmectl issue --tnauthlist spec; source is ("--token-file", path) or
    ("--token-command", path, ...)."""
    return ["-s", store, "issue", "--ca", ca.directory_url, "--ca-cert", ca.ca_cert,
            "--email", EMAIL, "--agree-tos", "--tnauthlist", spec] + list(source)


def last_error(res):
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert res.returncode == 1, res.stderr
    assert lines and lines[-1].startswith("acmectl: "), res.stderr
    assert "Traceback" not in res.stderr
    return lines[-1]


def account_fingerprint(store):
    """RFC 9448 fingerprint of the one account key in the store."""
    paths = glob.glob(os.path.join(store, "accounts", "*", "account.pem"))
    assert len(paths) == 1, paths
    return fingerprint(certs.load_key_file(paths[0]).public_key())


def stored_leaf(store, entry):
    d = os.path.join(store, "domains", entry)
    chain = certs.load_chain_file(os.path.join(d, "fullchain.pem"))
    assert certs.key_matches(chain[0], certs.load_key_file(os.path.join(d, "privkey.pem")))
    return chain


def check_sti_certificate(ca, chain, der, spc):
    leaf = chain[0]
    ext = leaf.extensions.get_extension_for_oid(TNAUTHLIST_OID)
    assert ext.value.value == der
    assert certs.sans(leaf) == ([], [])
    assert certs.common_name(leaf.subject) == ("SHAKEN %s" % spc if spc else "SHAKEN")
    assert certs.key_type(leaf.public_key()) == "ec256"
    assert certs.chain_to_root(chain, [ca.root])


def first_run(acmectl, store, ca, spec, token_file):
    """Without a usable token the run fails, naming what to ask the Token Authority for;
    the account exists afterwards. Returns that error line."""
    res = acmectl(*issue_args(store, ca, spec, ("--token-file", token_file)))
    err = last_error(res)
    assert "cannot read the token file %s" % token_file in err
    assert ca.challenge_posts == 0 and ca.finalizes == 0
    return err


# -- issuance ------------------------------------------------------------------------------------

def test_spc_certificate_with_token_file(acmectl, sti_ca, authority, test_dir):
    store = os.path.join(test_dir, "store")
    token_file = os.path.join(test_dir, "spc-token.jwt")
    err = first_run(acmectl, store, sti_ca, "1234", token_file)
    fp = account_fingerprint(store)
    # The error says exactly what the STI-PA must sign: the value and this account's key.
    assert "tkvalue %s and fingerprint \"%s\"" % (SPC_1234, fp) in err

    token = authority.token(SPC_1234, fp)
    with open(token_file, "w") as f:
        f.write(token + "\n")
    res = acmectl("-v", "-v", *issue_args(store, sti_ca, "1234", ("--token-file", token_file)))
    assert res.returncode == 0, res.stderr
    # The token speaks for the provider: never in the (debug) log.
    assert token.split(".")[2] not in res.stderr + res.stdout
    assert "stored: %s" % os.path.join(store, "domains", "tnauthlist-1234", "fullchain.pem") \
        in res.stdout
    check_sti_certificate(sti_ca, stored_leaf(store, "tnauthlist-1234"), tn_list(tn_spc("1234")),
                          "1234")
    assert sti_ca.challenge_posts == 1 and sti_ca.finalizes == 1
    tkauth = [p for path, p in sti_ca.posts if path.startswith("/chall/")]
    assert tkauth == [{"tkauth": token}]

    status = json.loads(acmectl("-s", store, "status", "tnauthlist-1234", check=True).stdout)
    dom = status["domains"][0]
    assert dom["name"] == "tnauthlist-1234"
    assert dom["names"] == ["TNAuthList:" + SPC_1234]
    assert dom["state"] == "valid"
    assert dom["ca"] == sti_ca.directory_url


def test_tn_ranges_and_token_authority_answer(acmectl, sti_ca, authority, test_dir):
    """TN ranges and numbers beside the SPC, in order; the token file holds the Token
    Authority's JSON answer (RFC 9447 §5) instead of the bare JWT."""
    store = os.path.join(test_dir, "store")
    token_file = os.path.join(test_dir, "answer.json")
    first_run(acmectl, store, sti_ca, RANGES_SPEC, token_file)
    value = b64u(RANGES_DER)
    with open(token_file, "w") as f:
        json.dump({"status": "success", "message": "ok",
                   "token": authority.token(value, account_fingerprint(store))}, f)
    res = acmectl(*issue_args(store, sti_ca, RANGES_SPEC, ("--token-file", token_file)))
    assert res.returncode == 0, res.stderr
    entries = os.listdir(os.path.join(store, "domains"))
    assert len(entries) == 1 and re.fullmatch(r"tnauthlist-1234-[0-9a-f]{8}", entries[0])
    check_sti_certificate(sti_ca, stored_leaf(store, entries[0]), RANGES_DER, "1234")
    assert [o["values"] for o in sti_ca.orders.values()] == [[value]]


def test_spc_certificate_with_token_command(acmectl, sti_ca, authority, test_dir):
    """One run: the token command gets the identifier value, this account's fingerprint
    (RFC 9448 form) and the challenge's token-authority hint, and prints the token."""
    store = os.path.join(test_dir, "store")
    cmd = TokenCommand(make_dir(test_dir, "cmd"), authority)
    cmd.set(mode="json")
    res = acmectl(*issue_args(store, sti_ca, "1234", ("--token-command", cmd.path)))
    assert res.returncode == 0, res.stderr
    assert cmd.calls() == [[SPC_1234, account_fingerprint(store), TokenAuthority.URL]]
    check_sti_certificate(sti_ca, stored_leaf(store, "tnauthlist-1234"), tn_list(tn_spc("1234")),
                          "1234")
    assert sti_ca.challenge_posts == 1


@pytest.mark.parametrize("mode,want", [
    ("fail", "exited with status 3: STI-PA login failed: 401 Unauthorized"),
    ("hang", "timed out after 2 s"),
    ("garbage", "holds no JWT (<html><body>502 Bad Gateway</body></html>)"),
    ("wrong_spc", "it is for SPC 5678, the order for SPC 1234"),
])
def test_token_command_failures(acmectl, sti_ca, authority, test_dir, mode, want):
    store = os.path.join(test_dir, "store")
    cmd = TokenCommand(make_dir(test_dir, "cmd"), authority)
    if mode == "wrong_spc":
        cmd.set(tkvalue=tn_value(tn_spc("5678")))
    else:
        cmd.set(mode=mode)
    res = acmectl(*issue_args(store, sti_ca, "1234", ("--token-command", cmd.path,
                                                      "--hook-timeout", "2s")))
    err = last_error(res)
    assert want in err, err
    assert "tkauth-01 for SPC 1234" in err
    assert len(cmd.calls()) == 1
    assert sti_ca.challenge_posts == 0 and sti_ca.finalizes == 0


# -- tokens that do not fit are refused before the CA sees them ---------------------------------

@pytest.mark.parametrize("case", ["wrong_spc", "other_account", "expired", "ca_true"])
def test_unfit_token_refused_before_the_ca(acmectl, sti_ca, authority, test_dir, case):
    store = os.path.join(test_dir, "store")
    token_file = os.path.join(test_dir, "token.jwt")
    first_run(acmectl, store, sti_ca, "1234", token_file)
    fp = account_fingerprint(store)
    other_fp = fingerprint(ec.generate_private_key(ec.SECP256R1()).public_key())
    token, want = {
        "wrong_spc": (authority.token(tn_value(tn_spc("5678")), fp),
                      "it is for SPC 5678, the order for SPC 1234"),
        "other_account": (authority.token(SPC_1234, other_fp),
                          "it is bound to the account key %s, this account's key is %s"
                          % (other_fp, fp)),
        "expired": (authority.token(SPC_1234, fp, exp=time.time() - 30), "it expired at"),
        "ca_true": (authority.token(SPC_1234, fp, ca=True), "\"ca\": true"),
    }[case]
    with open(token_file, "w") as f:
        f.write(token)
    res = acmectl(*issue_args(store, sti_ca, "1234", ("--token-file", token_file)))
    err = last_error(res)
    assert "the Authority Token does not fit: " in err and want in err, err
    assert sti_ca.challenge_posts == 0 and sti_ca.finalizes == 0
    assert not glob.glob(os.path.join(store, "*", "*", "fullchain*.pem"))


def test_identifier_mismatch_refused_before_the_ca(acmectl, sti_ca, authority, test_dir):
    """A CA whose authorization names another TNAuthList than the order: the certificate
    request would not match it, so nothing is answered, asked for or finalized."""
    store = os.path.join(test_dir, "store")
    token_file = os.path.join(test_dir, "token.jwt")
    first_run(acmectl, store, sti_ca, "1234", token_file)
    with open(token_file, "w") as f:
        f.write(authority.token(SPC_1234, account_fingerprint(store)))
    sti_ca.swap_identifier = tn_value(tn_spc("9999"))
    err = last_error(acmectl(*issue_args(store, sti_ca, "1234", ("--token-file", token_file))))
    assert ("is for TNAuthList \"TNAuthList:%s\" (SPC 9999), which is not one of the "
            "ordered identifiers" % tn_value(tn_spc("9999"))) in err
    assert sti_ca.challenge_posts == 0 and sti_ca.finalizes == 0


def test_token_refused_by_the_ca(acmectl, sti_ca, authority, test_dir):
    """What only the STI-CA can check (the Token Authority's signature) comes back as the
    CA's problem with what to do about it."""
    store = os.path.join(test_dir, "store")
    token_file = os.path.join(test_dir, "token.jwt")
    first_run(acmectl, store, sti_ca, "1234", token_file)
    with open(token_file, "w") as f:
        f.write(authority.token(SPC_1234, account_fingerprint(store),
                                key=ec.generate_private_key(ec.SECP256R1())))
    err = last_error(acmectl(*issue_args(store, sti_ca, "1234", ("--token-file", token_file))))
    assert "the CA did not accept the Authority Token for SPC 1234" in err
    assert "the signature is not the Token Authority's" in err
    assert sti_ca.challenge_posts == 1 and sti_ca.finalizes == 0


# -- the STI-CA's own checks (what the client spares it) ----------------------------------------

def _order(client, value):
    _, headers, order = client.post_json(client.dir["newOrder"], {
        "identifiers": [{"type": "TNAuthList", "value": value}]})
    authz = client.post_json(order["authorizations"][0], None)[2]
    return headers["Location"], order, authz


def _csr(key, der, san=None):
    b = (x509.CertificateSigningRequestBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "SHAKEN 1234")]))
         .add_extension(x509.UnrecognizedExtension(TNAUTHLIST_OID, der), critical=False))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return b64u(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def test_sti_ca_validates_tokens_and_csrs(sti_ca, authority):
    client = Client(sti_ca.directory_url, sti_ca.ca_cert)
    client.new_account(EMAIL)
    fp = fingerprint(client.key.public_key())
    stranger = ec.generate_private_key(ec.SECP256R1())
    bad = {
        "tkvalue is not the authorization's TNAuthList":
            authority.token(tn_value(tn_spc("5678")), fp),
        "fingerprint is not this account's key":
            authority.token(SPC_1234, fingerprint(stranger.public_key())),
        "the token expired": authority.token(SPC_1234, fp, exp=time.time() - 1),
        "the signature is not the Token Authority's": authority.token(SPC_1234, fp, key=stranger),
        "ca must be false": authority.token(SPC_1234, fp, ca=True),
    }
    for detail, token in bad.items():
        _, _, authz = _order(client, SPC_1234)
        ch = client.post_json(authz["challenges"][0]["url"], {"tkauth": token})[2]
        assert ch["status"] == "invalid" and ch["error"]["detail"] == detail
    url, order, authz = _order(client, SPC_1234)
    assert authz["challenges"][0]["tkauth-type"] == "atc"
    assert authz["challenges"][0]["token-authority"] == TokenAuthority.URL
    ch = client.post_json(authz["challenges"][0]["url"],
                          {"tkauth": authority.token(SPC_1234, fp)})[2]
    assert ch["status"] == "valid"
    key = ec.generate_private_key(ec.SECP256R1())
    for csr, detail in ((_csr(key, tn_list(tn_spc("5678"))),
                         "the CSR's TNAuthList is not the order's"),
                        (_csr(key, tn_list(tn_spc("1234")), san="example.org"),
                         "an STI certificate has no SANs")):
        with pytest.raises(AcmeError) as e:
            client.post_json(order["finalize"], {"csr": csr})
        assert e.value.problem["detail"] == detail
    client.post_json(order["finalize"], {"csr": _csr(key, tn_list(tn_spc("1234")))})
    assert client.post_json(url, None)[2]["status"] == "valid"


# -- status, renew and revoke ---------------------------------------------------------------------

def test_renew_and_revoke_sti_certificate(acmectl, sti_ca, authority, test_dir):
    store = os.path.join(test_dir, "store")
    token_file = os.path.join(test_dir, "token.jwt")
    first_run(acmectl, store, sti_ca, "1234", token_file)
    with open(token_file, "w") as f:
        f.write(authority.token(SPC_1234, account_fingerprint(store)))
    args = issue_args(store, sti_ca, "1234", ("--token-file", token_file))
    acmectl(*args, check=True)
    first = stored_leaf(store, "tnauthlist-1234")[0]

    acmectl("-s", store, "renew", "tnauthlist-1234", check=True)
    acmectl(*args, check=True)
    second = stored_leaf(store, "tnauthlist-1234")[0]
    assert second.serial_number != first.serial_number
    check_sti_certificate(sti_ca, stored_leaf(store, "tnauthlist-1234"),
                          tn_list(tn_spc("1234")), "1234")
    assert len(glob.glob(os.path.join(store, "archive", "tnauthlist-1234.*"))) == 1

    res = acmectl("-s", store, "revoke", "tnauthlist-1234", "--reason", "4",
                  "--ca-cert", sti_ca.ca_cert, check=True)
    assert "revoked: " in res.stdout
    assert second.serial_number in sti_ca.revoked
    assert first.serial_number not in sti_ca.revoked
