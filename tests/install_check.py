"""Installs pgcdc into a scratch DESTDIR with `meson install` and checks what a
person installing it gets: the binary (which runs), the manual page, the
example configuration and the systemd unit, whose ExecStart runs the
installed binary and which systemd-analyze accepts (when it is there); and
that the manual lists every command and option of `pgcdc --help` and every
configuration key.

Usage: python3 tests/install_check.py BUILD_DIR PREFIX BINDIR MANDIR DATADIR UNITDIR
(meson's options; UNITDIR "" for the default). Exits 1 naming each problem.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

problems = []


def check(ok, what):
    if not ok:
        problems.append(what)
    return ok


def main():
    build, prefix, bindir, mandir, datadir, unitdir = sys.argv[1:7]
    unitdir = unitdir or os.path.join(prefix, "lib", "systemd", "system")
    dest = tempfile.mkdtemp(prefix="pgcdc-install-")
    try:
        r = subprocess.run([shutil.which("meson") or "meson", "install", "-C", build,
                            "--no-rebuild", "--quiet", "--destdir", dest],
                           capture_output=True, text=True, timeout=240)
        if not check(r.returncode == 0, f"meson install failed: {r.stdout}{r.stderr}"):
            return

        def installed(*parts):
            return os.path.join(dest, *(p.lstrip("/") for p in parts))

        exe = installed(prefix, bindir, "pgcdc")
        man = installed(prefix, mandir, "man1", "pgcdc.1")
        conf = installed(prefix, datadir, "doc", "pgcdc", "pgcdc.conf")
        unit = installed(unitdir, "pgcdc.service")
        for path in (exe, man, conf, unit):
            check(os.path.isfile(path), f"not installed: {os.path.relpath(path, dest)}")
        if problems:
            return
        check(os.access(exe, os.X_OK), "the installed binary is not executable")
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and r.stdout.startswith("pgcdc "),
              f"installed pgcdc --version: {r.returncode} {r.stdout}{r.stderr}")

        with open(conf) as f:
            check("database.dsn" in f.read(), "the installed example configuration is not pgcdc.conf")

        with open(unit) as f:
            unit_text = f.read()
        target = os.path.join(prefix, bindir, "pgcdc")
        check(f"\nExecStart={target} run -c /etc/pgcdc/pgcdc.conf\n" in unit_text,
              f"the unit's ExecStart does not run {target}")
        left = re.findall(r"@[A-Za-z_]+@", unit_text)
        check(not left, f"unsubstituted in the unit: {left}")
        docdir = os.path.join(prefix, datadir, "doc", "pgcdc")
        check(f"{docdir}/pgcdc.conf /etc/pgcdc/pgcdc.conf" in unit_text,
              "the unit's install steps do not copy the installed example configuration")

        analyze = shutil.which("systemd-analyze")
        if analyze:
            # a copy that runs the binary where DESTDIR holds it, with the
            # manual page of Documentation= found there too
            copy_dir = os.path.join(dest, "verify")
            os.mkdir(copy_dir)
            with open(os.path.join(copy_dir, "pgcdc.service"), "w") as f:
                f.write(unit_text.replace(f"ExecStart={target} ", f"ExecStart={exe} "))
            env = dict(os.environ, MANPATH=installed(prefix, mandir))
            r = subprocess.run([analyze, "verify", os.path.join(copy_dir, "pgcdc.service")],
                               capture_output=True, text=True, timeout=60, env=env)
            check(r.returncode == 0 and not r.stderr.strip(),
                  f"systemd-analyze verify: {r.returncode} {r.stdout}{r.stderr}")

        with open(man) as f:
            man_src = f.read()
        man_text = man_src.replace("\\-", "-")
        groff = shutil.which("groff")
        if groff:
            r = subprocess.run([groff, "-man", "-ww", "-z", man], capture_output=True, text=True,
                               timeout=60)
            check(r.returncode == 0 and not r.stderr.strip(), f"groff warns: {r.stderr}")

        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.strip()
        check(re.search(rf'^\.TH PGCDC 1 \S+ "{re.escape(version)}"', man_src, re.M),
              f"the manual's .TH line does not name '{version}'")

        r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
        help_text = r.stdout
        commands = set(re.findall(r"^\s+pgcdc ([a-z]+) ", help_text, re.M))
        check(len(commands) >= 4, f"no commands found in --help: {help_text}")
        for cmd in sorted(commands):
            check(re.search(rf"^\.B pgcdc {cmd}$", man_src, re.M) and
                  re.search(rf"^\.B {cmd}$", man_src, re.M),
                  f"command '{cmd}' of --help is not in the manual's synopsis and commands")
        options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]*)", help_text))
        for opt in sorted(options):
            check(opt in man_text, f"option '{opt}' of --help is not in the manual")

        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("topic.prefix = x\nsink = stdout\nformat = json\n")
        r = subprocess.run([exe, "config", "-c", f.name], capture_output=True, text=True,
                           timeout=30)
        os.unlink(f.name)
        keys = [l.split(" =")[0] for l in r.stdout.splitlines()]
        check(len(keys) > 30, f"pgcdc config printed {len(keys)} keys: {r.stdout}{r.stderr}")
        for key in keys + ["kafka.*"]:
            check(re.search(rf"(?<![\w.]){re.escape(key)}(?![\w])", man_text),
                  f"configuration key '{key}' is not in the manual")
    finally:
        shutil.rmtree(dest, ignore_errors=True)


main()
for p in problems:
    print(f"install: {p}")
sys.exit(1 if problems else 0)
