"""Secrets kept outside the configuration file: a database password given only
through ${file:...}, against a role the harness's PostgreSQL makes give its
password over TCP (members of pgcdc_password), never appears in anything
pgcdc prints."""
import os
import subprocess
import uuid

import psycopg
import pytest

from conftest import PGCDC_BIN, sql


@pytest.fixture
def password_role(db):
    """A superuser role that must authenticate with a password; its name and
    password."""
    if not sql(db, "SELECT 1 FROM pg_roles WHERE rolname = 'pgcdc_password'"):
        pytest.fail("the harness has no role pgcdc_password: it was started by an older "
                    "tests/harness/up; restart it (tests/harness/down, then up)")
    name = "pw_" + uuid.uuid4().hex[:10]
    # a blank, so that the DSN must quote it
    password = "Pw " + uuid.uuid4().hex
    sql(db, f"CREATE ROLE {name} LOGIN REPLICATION SUPERUSER PASSWORD '{password}' "
        f"IN ROLE pgcdc_password")
    yield name, password
    sql(db, f"DROP OWNED BY {name}")
    sql(db, f"DROP ROLE IF EXISTS {name}")


def base_dsn(user):
    return (f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} "
            f"dbname={os.environ.get('PGDATABASE', 'pgcdc')} user={user}")


def run(p, *args):
    p.write_config()
    return subprocess.run([PGCDC_BIN, *args, "-c", str(p.conf_path)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=120)


def test_the_role_needs_its_password(password_role):
    """The harness really asks this role for its password (else the tests
    below would prove nothing)."""
    name, password = password_role
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(base_dsn(name) + " password=wrong").close()
    psycopg.connect(base_dsn(name) + f" password='{password}'").close()


def test_password_from_a_file_never_appears_in_any_output(tmp_path, db, password_role, pgcdc,
                                                          table):
    name, password = password_role
    pw_file = tmp_path / "db-password"
    pw_file.write_text(password + "\n")
    props = tmp_path / "secrets.properties"
    props.write_text(f"# other secrets\nsasl.password = {password}\n")
    os.environ["PGCDC_TEST_REGISTRY_AUTH"] = f"bob:{password}"
    t = table("id int PRIMARY KEY, v text")
    p = pgcdc(database_dsn=base_dsn(name) + f" password='${{file:{pw_file}}}'",
              table_include_list=f"public.{t}")
    # secrets in other keys too, each through another provider
    p.cfg["kafka.sasl.password"] = f"${{file:{props}:sasl.password}}"
    p.cfg["schema.registry.basic.auth.user.info"] = "${env:PGCDC_TEST_REGISTRY_AUTH}"
    outputs = {}

    r = run(p, "config")
    assert r.returncode == 0, r.stderr
    outputs["config"] = r.stdout + r.stderr
    assert str(pw_file) not in r.stdout  # masked, as any DSN password
    assert "database.dsn = " + base_dsn(name) + " password=********" in r.stdout
    assert "schema.registry.basic.auth.user.info = ********" in r.stdout
    assert "kafka.sasl.password = ********" in r.stdout

    r = run(p, "check")
    outputs["check"] = r.stdout + r.stderr
    assert "OK    role:" in r.stdout, r.stdout  # it connected, so the password was right

    p.start()  # log.level = debug: every line pgcdc logs
    sql(db, f'INSERT INTO "{t}" VALUES (1, %s)', password)
    ev = p.events(1)
    assert ev[0]["value"]["after"]["id"] == 1
    assert p.stop() == 0
    outputs["run stderr"] = p.stderr()
    # the only place the password may be is the row that carries it as data
    outputs["run stdout"] = p.out_path.read_text().replace(
        f'"v":"{password}"', '"v":"<row value>"')

    for what, text in outputs.items():
        for part in (password, password.split()[1]):
            assert part not in text, f"the password appears in the output of {what}:\n{text}"


def test_wrong_or_missing_secret_stops_with_the_key_and_reference(tmp_path, password_role,
                                                                  pgcdc):
    name, password = password_role
    missing = tmp_path / "no-such-file"
    p = pgcdc(database_dsn=base_dsn(name) + f" password=${{file:{missing}}}")
    for cmd in ("config", "check", "run"):
        r = run(p, cmd)
        assert r.returncode == 78, (cmd, r.returncode, r.stderr)
        assert (f"key 'database.dsn': reference '${{file:{missing}}}': cannot read "
                f"'{missing}': No such file or directory") in r.stderr, r.stderr

    os.environ.pop("PGCDC_TEST_UNSET", None)
    p.cfg["database.dsn"] = base_dsn(name) + " password=${env:PGCDC_TEST_UNSET}"
    r = run(p, "run")
    assert r.returncode == 78, r.stderr
    assert ("key 'database.dsn': reference '${env:PGCDC_TEST_UNSET}': environment variable "
            "'PGCDC_TEST_UNSET' is not set") in r.stderr, r.stderr

    # unquoted, the blank splits the connection string: refused without quoting it
    pw_file = tmp_path / "db-password"
    pw_file.write_text(password)
    p.cfg["database.dsn"] = base_dsn(name) + f" password=${{file:{pw_file}}}"
    r = run(p, "check")
    assert r.returncode == 78, r.stderr
    assert "is not a valid connection string once its references are resolved" in r.stderr
    assert password.split()[1] not in r.stderr + r.stdout

    # a readable file with the wrong password: the server refuses, a person must act
    wrong = tmp_path / "wrong"
    wrong.write_text("not-" + password.split()[1])
    p.cfg["database.dsn"] = base_dsn(name) + f" password=${{file:{wrong}}}"
    r = run(p, "run")
    assert r.returncode == 78, r.stderr
    assert "password authentication failed" in r.stderr, r.stderr
    assert password.split()[1] not in r.stderr
