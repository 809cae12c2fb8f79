"""The manual pages and README against what is built: every directive the module registers (asked from httpd) has a mod_acme(8) entry with syntax, default, context and an example that httpd accepts exactly in the contexts it names; every acmectl verb and option its help prints is in acmectl(1) and README; code, help texts and examples refer to README and the man pages, never to SPEC."""
import os
import re
import subprocess

import pytest

from fixtures.ca import acmectl_path
from fixtures.directives import registered
from fixtures.httpd import REPO, module_path

MAN8 = REPO / "doc" / "mod_acme.8.scd"
MAN1 = REPO / "doc" / "acmectl.1.scd"
README = (REPO / "README.md").read_text()
FIELDS = ("Syntax", "Default", "Context", "Example")
CONTEXTS = {"server config": "S", "virtual host": "V", "domain set": "D"}
EAB_KEY = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"


def man_sections(path, level):
    """{heading: text} of the headings of a level ('#' or '##') in an scdoc page."""
    out, name = {}, None
    for line in path.read_text().splitlines():
        m = re.match(r"^(#+) (.+)$", line)
        if m:
            name = m.group(2).strip() if len(m.group(1)) == level else (
                None if len(m.group(1)) < level else name)
            if name is not None and len(m.group(1)) == level:
                out[name] = ""
            continue
        if name is not None:
            out[name] += line + "\n"
    return out


def directive_entries():
    """{directive: {field: value}} of mod_acme(8)'s DIRECTIVES section."""
    text = MAN8.read_text()
    body = text.split("\n# DIRECTIVES\n", 1)[1].split("\n# ", 1)[0]
    entries = {}
    for block in re.split(r"^## ", body, flags=re.M)[1:]:
        head, rest = block.split("\n", 1)
        fields = dict(re.findall(r"^\*(\w+):\* (.*?)(?:\+\+)?$", rest, re.M))
        entries[head.strip()] = fields
    return entries


@pytest.fixture(scope="module")
def module_directives():
    if not module_path().exists():
        pytest.fail(f"{module_path()} not built (set ACME_BUILD_DIR)")
    return registered([f"LoadModule acme_module {module_path()}"], "mod_acme.c")


def test_every_registered_directive_is_documented(module_directives):
    entries = directive_entries()
    documented = {n.rstrip(">") for n in entries}
    assert set(module_directives) == documented, (
        "registered but not in doc/mod_acme.8.scd: %s; documented but not registered: %s"
        % (sorted(set(module_directives) - documented), sorted(documented - set(module_directives))))
    for name, fields in entries.items():
        missing = [f for f in FIELDS if not fields.get(f)]
        assert not missing, f"{name}: no {missing} in doc/mod_acme.8.scd"
        assert fields["Syntax"].replace("\\", "").startswith(name.rstrip(">")), fields["Syntax"]
        assert fields["Example"].startswith(name.rstrip(">")), fields["Example"]
        contexts = [c.strip() for c in fields["Context"].split(",")]
        assert contexts and all(c in CONTEXTS for c in contexts), (name, fields["Context"])
    for name in module_directives:
        assert f"`{name}" in README, f"README does not mention {name}"


def example_lines(name, example, tmp):
    """The man page's example as configuration lines; file arguments point at a
    scratch file (executable, holding a base64url key) instead."""
    path = tmp / "file-arg"
    if not path.exists():
        path.write_text(EAB_KEY + "\n")
        os.chmod(path, 0o755)
    words = [f"file:{path}" if w.startswith("file:/") else (str(path) if w.startswith("/") else w)
             for w in example.split(" ")]
    line = " ".join(words)
    if name.startswith("<"):
        tag, rest = line.split(">", 1)
        body, _ = rest.rsplit("</", 1)
        return [tag + ">", body.strip(), "</" + name[1:]]
    return [line]


def test_examples_pass_configtest_in_exactly_the_documented_contexts(module_directives,
                                                                     httpd_factory, tmp_path):
    h = httpd_factory(None)
    for name, fields in directive_entries().items():
        lines = example_lines(name, fields["Example"], tmp_path)
        allowed = {CONTEXTS[c.strip()] for c in fields["Context"].split(",")}
        for ctx in ("S", "V", "D"):
            h.directives, h.vhosts = [], []
            if ctx == "S":
                h.add(*lines)
            elif ctx == "V":
                h.ssl_vhost("ctx.test", body="\n".join(lines))
            else:
                h.add("<ACMEDomainSet ctx.test>", *lines, "</ACMEDomainSet>")
            rc, out = h.configtest()
            if ctx in allowed:
                assert rc == 0, f"{name} example in context {ctx}: {out}"
            else:
                assert rc != 0, f"{name} is accepted in context {ctx}, its Context does not say so"
                assert name.lstrip("<").rstrip(">") in out, out


def acmectl_help(*args):
    r = subprocess.run([acmectl_path()] + list(args), capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_every_acmectl_verb_and_option_is_documented():
    if not os.access(acmectl_path(), os.X_OK):
        pytest.fail(f"{acmectl_path()} not built (set ACME_BUILD_DIR)")
    main = acmectl_help("--help")
    verbs = re.findall(r"^  ([a-z][a-z-]+) ", main.split("verbs", 1)[1], re.M)
    assert "import" in verbs and "convert-config" in verbs, verbs
    man_verbs = set(man_sections(MAN1, 2))
    assert set(verbs) == man_verbs, ("verbs in acmectl --help and in doc/acmectl.1.scd differ",
                                     sorted(set(verbs) ^ man_verbs))
    man = MAN1.read_text().replace("\\", "")
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b", main))
    for verb in verbs:
        text = acmectl_help(verb, "--help")
        assert text.startswith("usage: acmectl"), text
        found = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b", text))
        options |= found
        for opt in found:
            section = man_sections(MAN1, 2)[verb]
            assert opt in section.replace("\\", "") or opt in ("-s", "--help", "-h"), \
                f"acmectl {verb} {opt} is not in its section of doc/acmectl.1.scd"
    for opt in sorted(options):
        assert re.search(r"\*" + re.escape(opt) + r"\*", man), f"{opt} not in doc/acmectl.1.scd"
        assert f"`{opt}" in README or f"{opt} " in README, f"README does not mention {opt}"


USER_FACING = ("core", "mod", "tools", "conf", "doc", "debian")


def spec_references(root):
    """(path, line number, line) of every word SPEC under the user-facing trees and in README."""
    paths = [root / "README.md"] + [f for d in USER_FACING for f in sorted((root / d).rglob("*"))
                                     if f.is_file()]
    hits = []
    for path in paths:
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue        # built binaries in an in-tree build
        hits += [(str(path.relative_to(root)), n, line.strip())
                 for n, line in enumerate(text.splitlines(), 1) if re.search(r"\bSPEC\b", line)]
    return hits


def test_code_and_help_refer_to_readme_and_man_pages_not_spec(tmp_path):
    """Users have README and the man pages, not the product specification."""
    hits = spec_references(REPO)
    assert not hits, "refer to a README section or man page instead: %s" % hits
    # the check finds a reference where it would be
    (tmp_path / "core").mkdir()
    (tmp_path / "README.md").write_text("see the README\n")
    (tmp_path / "core" / "x.c").write_text("/* x.c: see SPEC §5. */\nint K_SPECIAL;\n")
    assert spec_references(tmp_path) == [("core/x.c", 1, "/* x.c: see SPEC §5. */")]
