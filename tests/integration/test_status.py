"""pgcdc status: the report a person reads, checked against the database and
the position file, with pgcdc stopped and running; it changes nothing."""
import os
import re
import socket
import subprocess
import time

from conftest import PGCDC_BIN, sql


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(p):
    p.write_config()
    r = subprocess.run([PGCDC_BIN, "status", "-c", str(p.conf_path)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def field(text, name):
    m = re.search(rf"^{re.escape(name)}:\s+(.*)$", text, re.M)
    assert m, f"no '{name}:' line in:\n{text}"
    return m.group(1)


def lsn_text(n):
    return f"{n >> 32:X}/{n & 0xFFFFFFFF:X}"


def slot_row(db, slot):
    return sql(db, "SELECT active_pid, (confirmed_flush_lsn - '0/0')::bigint, wal_status "
               "FROM pg_replication_slots WHERE slot_name = %s", slot)[0]


def test_status_with_pgcdc_stopped_and_running(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    port = free_port()
    p = pgcdc(metrics_listen=f"127.0.0.1:{port}", table_include_list=f"public\\.{t}")

    # Before the first start: no slot, no position.
    out = status(p)
    assert "does not exist" in field(out, "slot")
    assert field(out, "stored position").startswith("none")
    assert "no answer from" in field(out, "last event")

    p.start()
    sql(db, f"INSERT INTO {t} SELECT generate_series(1, 50)")
    p.events(50)
    pid, confirmed, wal_status = slot_row(db, p.name)
    deadline = time.time() + 60
    while time.time() < deadline:
        out = status(p)
        if "last event" in out and "committed" in field(out, "last event"):
            break
        time.sleep(0.5)
    assert field(out, "slot") == f"'{p.name}', active (streamed to by process {pid})"
    assert field(out, "wal_status") == wal_status
    assert re.match(r"\d", field(out, "retained WAL"))
    assert field(out, "last event").startswith("committed " + time.strftime("%Y-%m-%d",
                                                                         time.gmtime()))
    assert field(out, "pgcdc").startswith("running, ready; 50 event(s) produced")
    assert f"{p.name}.public.{t}" in field(out, "topics")
    assert re.match(r"[\d.]+ s |none measured", field(out, "lag"))

    assert p.stop() == 0
    before = (p.dir / "offsets").read_bytes()
    mtime = os.stat(p.dir / "offsets").st_mtime_ns
    _, confirmed, _ = slot_row(db, p.name)
    sql(db, f"INSERT INTO {t} VALUES (100)")
    out = status(p)
    assert field(out, "slot") == f"'{p.name}', inactive (nobody streams from it)"
    stored = re.search(r"^stored position:\s+(\S+)", out, re.M).group(1)
    assert stored.encode() in before, (stored, before)
    assert field(out, "confirmed position").startswith(lsn_text(confirmed) + " (")
    # the insert made since is WAL the slot holds: the positions are behind
    assert "0 bytes behind" not in field(out, "confirmed position")
    assert "nobody streams" in field(out, "lag")
    assert "no answer from" in field(out, "last event")
    assert f"{p.name}.public.{t}" in field(out, "topics")
    # read-only: neither the position file nor the slot moved
    assert (p.dir / "offsets").read_bytes() == before
    assert os.stat(p.dir / "offsets").st_mtime_ns == mtime
    assert slot_row(db, p.name)[1] == confirmed
