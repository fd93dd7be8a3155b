"""pgcdc check and pgcdc drop, run as a user would run them: on a server that
is ready, on one that is not (a table without a primary key, a role without
REPLICATION, Kafka out of reach, wal_level = replica), and against a slot
that is in use."""
import os
import pty
import select
import shutil
import socket
import subprocess
import tempfile
import time

import psycopg
import pytest

from conftest import PGCDC_BIN, dsn, sql
from kafka_util import BOOTSTRAP, REGISTRY

PGBIN = os.environ.get("PGCDC_PGBIN", "/usr/lib/postgresql/15/bin")


def run(p, *args, stdin=subprocess.DEVNULL, timeout=60):
    p.write_config()
    return subprocess.run([PGCDC_BIN, *args, "-c", str(p.conf_path)], stdin=stdin,
                          capture_output=True, text=True, timeout=timeout)


def check(p, **kw):
    r = run(p, "check", **kw)
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    return r.returncode, lines, r


def lines_about(lines, what):
    return [l for l in lines if l.split(None, 1)[1].startswith(what + ":")]


def kafka(**extra):
    cfg = {"sink": "kafka", "format": "avro", "schema.registry.url": REGISTRY,
           "kafka.bootstrap.servers": BOOTSTRAP}
    cfg.update(extra)
    return cfg


@pytest.fixture
def role(db):
    made = []

    def make(name, attrs):
        sql(db, f"DROP ROLE IF EXISTS {name}")
        sql(db, f"CREATE ROLE {name} {attrs}")
        made.append(name)
        return name

    yield make
    for name in made:
        sql(db, f"DROP OWNED BY {name}")
        sql(db, f"DROP ROLE IF EXISTS {name}")


def slot_exists(db, name):
    return bool(sql(db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", name))


def publication_exists(db, name):
    return bool(sql(db, "SELECT 1 FROM pg_publication WHERE pubname = %s", name))


# ---- pgcdc check ----

def test_check_on_a_ready_server_is_all_ok_and_changes_nothing(db, pgcdc, table):
    t = table("id int PRIMARY KEY, v text")
    p = pgcdc(table_include_list=f"public\\.{t}")
    p.cfg.update(kafka())
    rc, lines, r = check(p)
    assert rc == 0, r.stdout + r.stderr
    assert all(l.startswith("OK ") for l in lines[:-1]), r.stdout
    for what in ("wal_level", "max_replication_slots", "max_wal_senders", "role",
                 "replication connection", "publication", "slot", "tables", "kafka",
                 "schema registry"):
        assert lines_about(lines, what), (what, r.stdout)
    assert lines[-1].endswith("0 WARN, 0 FAIL"), r.stdout
    # Read-only: neither the slot nor the publication was made.
    assert not slot_exists(db, p.name) and not publication_exists(db, p.name)


def test_check_reports_the_slot_pgcdc_made_and_its_retained_wal(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    later = "tab_" + t[4:] + "_later"
    p = pgcdc(table_include_list=f"public\\.({t}|{later})").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    rc, lines, r = check(p)
    assert rc == 0, r.stdout
    assert "in use by server process" in lines_about(lines, "slot")[0]
    assert lines_about(lines, "slot")[0].startswith("WARN")
    pub = lines_about(lines, "publication")[0]
    assert "created by pgcdc" in pub and "0 to add and 0 to remove" in pub, r.stdout
    assert p.stop() == 0
    table("id int PRIMARY KEY", name=later)
    rc, lines, r = check(p)
    assert lines_about(lines, "slot")[0].startswith("OK"), r.stdout
    assert "wal_status 'reserved'" in lines_about(lines, "retained WAL")[0], r.stdout
    assert "1 to add and 0 to remove" in lines_about(lines, "publication")[0], r.stdout


def test_check_warns_of_a_table_without_primary_key_with_the_fix(db, pgcdc, table):
    t = table("a int, b text")
    p = pgcdc(table_include_list=f"public\\.{t}")
    rc, lines, r = check(p)
    assert rc == 0, r.stdout
    line = lines_about(lines, f"table public.{t}")
    assert len(line) == 1 and line[0].startswith("WARN"), r.stdout
    assert "no primary key or replica identity" in line[0]
    assert f'fix: ALTER TABLE "public"."{t}" REPLICA IDENTITY FULL' in line[0]


def test_check_fails_a_published_table_without_identity(db, pgcdc, table):
    """A publication someone made already holds the table: the application's
    UPDATE on it fails now, which check must say."""
    t = table("a int, b text")
    p = pgcdc(table_include_list=f"public\\.{t}")
    sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {t}')
    rc, lines, r = check(p)
    assert rc == 1, r.stdout
    line = lines_about(lines, f"table public.{t}")
    assert line[0].startswith("FAIL") and "UPDATE and DELETE on it fail" in line[0]
    assert "not created by pgcdc" in lines_about(lines, "publication")[0]


def test_check_fails_a_role_without_replication(db, pgcdc, table, role):
    t = table("id int PRIMARY KEY")
    r_ = role("pgcdc_chk_norepl", "LOGIN")
    p = pgcdc(database_dsn=dsn(user=r_), table_include_list=f"public\\.{t}")
    rc, lines, r = check(p)
    assert rc == 1, r.stdout
    line = lines_about(lines, "role")[0]
    assert line.startswith("FAIL") and "REPLICATION" in line
    assert f'fix: ALTER ROLE "{r_}" REPLICATION' in line and "rds_replication" in line
    assert lines_about(lines, "replication connection")[0].startswith("FAIL")
    # It does not own the table, so it cannot add it to the publication.
    own = [l for l in lines_about(lines, f"table public.{t}") if "does not own" in l]
    assert own and own[0].startswith("FAIL") and "OWNER TO" in own[0], r.stdout


def test_check_fails_when_kafka_is_out_of_reach(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}")
    p.cfg.update(kafka(**{"kafka.bootstrap.servers": "127.0.0.1:1"}))
    start = time.time()
    rc, lines, r = check(p, timeout=120)
    assert rc == 1, r.stdout
    line = lines_about(lines, "kafka")[0]
    assert line.startswith("FAIL") and "no metadata" in line and "fix: check kafka." in line
    assert time.time() - start < 90  # bounded, however long librdkafka would retry
    assert lines_about(lines, "schema registry")[0].startswith("OK")


def test_check_fails_when_the_registry_is_out_of_reach(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}")
    p.cfg.update(kafka(**{"schema.registry.url": "http://127.0.0.1:1/apis/ccompat/v7"}))
    rc, lines, r = check(p)
    assert rc == 1, r.stdout
    assert lines_about(lines, "schema registry")[0].startswith("FAIL")


def test_check_with_a_bad_config_exits_78(pgcdc):
    p = pgcdc(no_such_key="1")
    rc, lines, r = check(p)
    assert rc == 78 and "unknown key 'no.such.key'" in r.stderr


@pytest.fixture
def replica_server():
    """A scratch PostgreSQL with wal_level = replica, as a server that was
    never set up for logical decoding is."""
    if os.geteuid() != 0 or not os.path.exists(f"{PGBIN}/initdb"):
        pytest.skip("needs root and PostgreSQL's server binaries to start a scratch server")
    d = tempfile.mkdtemp(prefix="pgcdc-replica-")
    os.chmod(d, 0o755)
    shutil.chown(d, "postgres")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()

    def as_pg(*cmd):
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    as_pg(f"{PGBIN}/initdb", "-D", f"{d}/data", "-U", "postgres", "-A", "trust", "--no-sync")
    with open(f"{d}/data/postgresql.conf", "a") as f:
        f.write(f"listen_addresses = '127.0.0.1'\nport = {port}\n"
                f"unix_socket_directories = '{d}'\nwal_level = replica\nfsync = off\n")
    as_pg(f"{PGBIN}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/log", "-w", "-t", "60", "start")
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        as_pg(f"{PGBIN}/pg_ctl", "-D", f"{d}/data", "-m", "immediate", "stop")
        shutil.rmtree(d, ignore_errors=True)


def test_check_fails_wal_level_replica_and_says_it_needs_a_restart(pgcdc, replica_server):
    p = pgcdc(database_dsn=replica_server)
    rc, lines, r = check(p)
    assert rc == 1, r.stdout
    line = lines_about(lines, "wal_level")[0]
    assert line.startswith("FAIL") and "'replica'" in line and "restart" in line
    assert "fix: ALTER SYSTEM SET wal_level = logical" in line


# ---- pgcdc drop ----

def test_drop_with_yes_removes_the_slot_and_its_own_publication(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    assert p.stop() == 0
    assert slot_exists(db, p.name) and publication_exists(db, p.name)
    r = run(p, "drop", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"dropped replication slot '{p.name}'" in r.stdout
    assert f"dropped publication '{p.name}'" in r.stdout
    assert not slot_exists(db, p.name) and not publication_exists(db, p.name)
    r = run(p, "drop", "--yes")
    assert r.returncode == 0 and "nothing to drop" in r.stdout


def test_drop_without_yes_and_without_a_terminal_refuses(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    assert p.stop() == 0
    r = run(p, "drop")
    assert r.returncode == 2 and "not a terminal" in r.stderr and "--yes" in r.stderr
    assert slot_exists(db, p.name) and publication_exists(db, p.name)


def run_on_terminal(p, answer):
    """pgcdc drop on a pseudo-terminal, answering its question."""
    p.write_config()
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(PGCDC_BIN, [PGCDC_BIN, "drop", "-c", str(p.conf_path)])
    out = b""
    deadline = time.time() + 30
    answered = False
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"[y/N]" in out:
                os.write(fd, answer + b"\n")
                answered = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_drop_asks_on_a_terminal(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    assert p.stop() == 0
    rc, out = run_on_terminal(p, b"n")
    assert rc == 1 and "nothing was dropped" in out, out
    assert slot_exists(db, p.name) and publication_exists(db, p.name)
    rc, out = run_on_terminal(p, b"y")
    assert rc == 0 and "dropped replication slot" in out, out
    assert not slot_exists(db, p.name) and not publication_exists(db, p.name)


def test_drop_refuses_an_active_slot(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    r = run(p, "drop", "--yes")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "is in use by server process" in r.stderr and "nothing was dropped" in r.stderr
    assert slot_exists(db, p.name) and publication_exists(db, p.name)
    sql(db, f"INSERT INTO {t} VALUES (1)")
    assert p.events(1)  # the running pgcdc did not notice
    assert p.stop() == 0


def test_drop_leaves_a_publication_pgcdc_did_not_create(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}")
    sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {t}')
    p.start()
    assert p.stop() == 0
    r = run(p, "drop", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "left in place: pgcdc did not create it" in r.stdout
    assert not slot_exists(db, p.name) and publication_exists(db, p.name)


def test_drop_refuses_while_another_pgcdc_holds_the_slot_claim(db, pgcdc, table):
    """A pgcdc between two sessions (starting, reconnecting) holds its claim
    on the slot without streaming: drop waits for nobody and changes
    nothing."""
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    assert p.stop() == 0
    with psycopg.connect(dsn(), autocommit=True) as holder:
        # The claim pgcdc run takes (catalog.c): class 'pgcd', the slot's hash.
        assert sql(holder, "SELECT pg_try_advisory_lock(1885823844, hashtext(%s))",
                   p.name) == [(True,)]
        r = run(p, "drop", "--yes")
        assert r.returncode == 1, r.stdout + r.stderr
        assert "another pgcdc holds replication slot" in r.stderr
    assert slot_exists(db, p.name) and publication_exists(db, p.name)
