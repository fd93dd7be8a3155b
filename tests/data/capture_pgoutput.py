#!/usr/bin/env python3
"""Capture real pgoutput messages as test vectors.

Starts a scratch PostgreSQL cluster (initdb in a temporary directory,
wal_level=logical, a free port, unix socket only), runs a workload that makes
the server emit every pgoutput message kind, reads the raw messages back with
pg_logical_slot_peek_binary_changes() and writes each one to its own file in
tests/data/pgoutput/ next to this script, plus MANIFEST (one line per vector:
file name, in_stream flag, xid column of the SQL result). The cluster is
stopped and removed afterwards.

Captures:
  v1-*   proto_version 1, text values
  bin-*  proto_version 1 with binary 'true'; only the messages whose bytes
         differ from the text capture (changes with 'b' columns)
  v2s-*  proto_version 2 with streaming 'on' and logical_decoding_work_mem
         = 64kB: big transactions arrive as Stream Start/Stop blocks whose
         messages carry an xid, then Stream Commit or Stream Abort. Only the
         first two Inserts of each block are kept.

Usage: capture_pgoutput.py [--bindir DIR]   (default: pg_config --bindir,
or /usr/lib/postgresql/15/bin). Run as root it runs the server as the
user 'postgres'.
"""

import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pgoutput")

SETUP = r"""
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE public.orders (
    id serial PRIMARY KEY,
    customer text NOT NULL,
    total numeric(10,2),
    mood mood,
    note text,
    created timestamptz DEFAULT '2024-01-02 03:04:05+00');
CREATE TABLE public.customers_full (id int PRIMARY KEY, name text, email varchar(64));
ALTER TABLE public.customers_full REPLICA IDENTITY FULL;
CREATE TABLE public.docs (id int PRIMARY KEY, title text, body text);
ALTER TABLE public.docs ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE SCHEMA "weird.name";
CREATE TABLE "weird.name"."Order Items" ("Item Id" int PRIMARY KEY, "naïve" text, qty int);
CREATE TABLE public.skus (code text NOT NULL, name text);
CREATE UNIQUE INDEX skus_code ON public.skus (code);
ALTER TABLE public.skus REPLICA IDENTITY USING INDEX skus_code;
CREATE TABLE public.audit (at int, what text);
ALTER TABLE public.audit REPLICA IDENTITY NOTHING;
CREATE TABLE public.parent (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
CREATE TABLE public.child (id int PRIMARY KEY, parent_id int REFERENCES public.parent);
CREATE PUBLICATION pub FOR ALL TABLES;
SELECT pg_replication_origin_create('upstream');
SELECT 'init' FROM pg_create_logical_replication_slot('cap', 'pgoutput');
"""

# One transaction per statement unless wrapped in BEGIN/COMMIT.
WORKLOAD = r"""
INSERT INTO orders (customer, total, mood, note) VALUES
    ('alice', 12.50, 'happy', NULL),
    ('Zoë 日本語 🚀', 7.00, NULL, 'naïve café');
UPDATE orders SET total = 13.00 WHERE customer = 'alice';
UPDATE orders SET id = 100 WHERE customer = 'alice';
DELETE FROM orders WHERE id = 100;
BEGIN;
INSERT INTO customers_full VALUES (1, 'bob', 'bob@example.com');
UPDATE customers_full SET email = NULL WHERE id = 1;
DELETE FROM customers_full WHERE id = 1;
COMMIT;
INSERT INTO docs SELECT 1, 'first', string_agg(md5(i::text), '') FROM generate_series(1, 100) i;
UPDATE docs SET title = 'second' WHERE id = 1;
INSERT INTO "weird.name"."Order Items" VALUES (1, 'ünïcödé ✓', 3);
BEGIN;
INSERT INTO skus VALUES ('A-1', 'widget');
UPDATE skus SET code = 'A-2' WHERE code = 'A-1';
INSERT INTO audit VALUES (1, 'nothing identity');
COMMIT;
INSERT INTO parent DEFAULT VALUES;
INSERT INTO child VALUES (1, 1);
TRUNCATE parent RESTART IDENTITY CASCADE;
TRUNCATE docs;
SELECT 'tx' FROM pg_logical_emit_message(true, 'pgcdc', 'transactional hello');
SELECT 'nontx' FROM pg_logical_emit_message(false, 'pgcdc.raw', '\x00016869ff'::bytea);
SELECT 'origin' FROM pg_replication_origin_session_setup('upstream');
BEGIN;
SELECT 'xact' FROM pg_replication_origin_xact_setup('0/12345678', '2024-01-01 00:00:00+00');
INSERT INTO orders (customer, total) VALUES ('from upstream', 1.00);
COMMIT;
SELECT 'reset' FROM pg_replication_origin_session_reset();
"""

STREAM_SETUP = r"""
CREATE TABLE public.bulk (id int PRIMARY KEY, payload text);
CREATE TABLE public.bulk_side (id int);
SELECT 'init' FROM pg_create_logical_replication_slot('cap_stream', 'pgoutput');
"""

STREAM_WORKLOAD = r"""
BEGIN;
INSERT INTO bulk SELECT i, repeat('x', 100) FROM generate_series(1, 1500) i;
UPDATE bulk SET payload = 'y' WHERE id <= 2;
DELETE FROM bulk WHERE id = 3;
SELECT 'tx' FROM pg_logical_emit_message(true, 'pgcdc', 'in stream');
TRUNCATE bulk_side;
COMMIT;
BEGIN;
INSERT INTO bulk SELECT i, repeat('z', 100) FROM generate_series(10001, 11500) i;
ROLLBACK;
BEGIN;
INSERT INTO bulk VALUES (20000, 'kept');
SAVEPOINT s;
INSERT INTO bulk SELECT i, repeat('w', 100) FROM generate_series(20001, 21500) i;
ROLLBACK TO SAVEPOINT s;
INSERT INTO bulk VALUES (29999, 'kept too');
COMMIT;
"""

PEEK = ("SELECT xid, encode(data, 'hex') FROM pg_logical_slot_peek_binary_changes("
        "'{slot}', NULL, NULL, 'publication_names', 'pub', 'messages', 'true', {opts})")

KIND = {
    "B": "begin", "C": "commit", "O": "origin", "R": "relation", "Y": "type",
    "I": "insert", "U": "update", "D": "delete", "T": "truncate", "M": "message",
    "S": "stream-start", "E": "stream-stop", "c": "stream-commit", "A": "stream-abort",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cstring(data, pos):
    end = data.index(b"\0", pos)
    return data[pos:end].decode(), end + 1


def describe(data, in_stream, relnames):
    """A short file-name part for one message; records relation names."""
    kind = chr(data[0])
    pos = 1
    if in_stream and kind in "RYIUDTM":
        pos += 4
    name = KIND[kind]
    if kind == "R":
        relid = struct.unpack_from(">I", data, pos)[0]
        nsp, pos = cstring(data, pos + 4)
        rel, pos = cstring(data, pos)
        relnames[relid] = rel
        return f"{name}-{rel}"
    if kind == "Y":
        typ, _ = cstring(data, cstring(data, pos + 4)[1])
        return f"{name}-{typ}"
    if kind in "IUD":
        relid = struct.unpack_from(">I", data, pos)[0]
        marker = chr(data[pos + 4])
        old = f"-{marker}" if kind != "I" and marker in "KO" else ""
        return f"{name}{old}-{relnames.get(relid, relid)}"
    if kind == "M":
        flags = data[pos]
        return f"{name}-{'tx' if flags & 1 else 'nontx'}"
    return name


def safe(name):
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in name)


class Cluster:
    def __init__(self, bindir):
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="pgcdc-capture-")
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.dir, "data")

    def run(self, argv, **kw):
        return subprocess.run(self.as_user + argv, check=True, **kw)

    def start(self):
        self.run([os.path.join(self.bindir, "initdb"), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--locale=C", "-D", self.data], stdout=subprocess.DEVNULL)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"wal_level = logical\nport = {self.port}\nlisten_addresses = ''\n"
                    f"unix_socket_directories = '{self.dir}'\nmax_replication_slots = 4\n"
                    "logical_decoding_work_mem = 64kB\nfsync = off\ntimezone = 'UTC'\n")
        self.run([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w", "-l",
                  os.path.join(self.dir, "log"), "start"], stdout=subprocess.DEVNULL)

    def sql(self, text):
        res = subprocess.run(self.as_user + [
            os.path.join(self.bindir, "psql"), "-X", "-q", "-At", "-h", self.dir,
            "-p", str(self.port), "-U", "postgres", "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-F", "\t"], input=text, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError("psql failed: " + res.stderr.strip())
        return res.stdout

    def peek(self, slot, opts):
        rows = []
        for line in self.sql(PEEK.format(slot=slot, opts=opts) + ";\n").splitlines():
            xid, hexdata = line.split("\t")
            rows.append((int(xid or 0), bytes.fromhex(hexdata)))
        return rows

    def stop(self):
        subprocess.run(self.as_user + [os.path.join(self.bindir, "pg_ctl"), "-D", self.data,
                                       "-m", "fast", "stop"], stdout=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


def save(files, prefix, rows, skip=None):
    relnames = {}
    in_stream = False
    inserts_in_block = 0
    n = 0
    for i, (xid, data) in enumerate(rows):
        kind = chr(data[0])
        if kind == "S":
            in_stream = True
            inserts_in_block = 0
        desc = describe(data, in_stream, relnames)
        keep = skip is None or not skip(i, data)
        if in_stream and kind == "I":
            inserts_in_block += 1
            keep = keep and inserts_in_block <= 2
        if keep:
            n += 1
            files.append((f"{prefix}-{n:03d}-{safe(desc)}.bin", data, in_stream, xid))
        if kind == "E":
            in_stream = False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "/usr/lib/postgresql/15/bin"
    try:
        default = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                                 check=True).stdout.strip() or default
    except (OSError, subprocess.CalledProcessError):
        pass
    ap.add_argument("--bindir", default=default)
    args = ap.parse_args()

    cluster = Cluster(args.bindir)
    files = []
    try:
        cluster.start()
        cluster.sql(SETUP)
        cluster.sql(WORKLOAD)
        text = cluster.peek("cap", "'proto_version', '1'")
        binary = cluster.peek("cap", "'proto_version', '1', 'binary', 'true'")
        cluster.sql(STREAM_SETUP)
        cluster.sql(STREAM_WORKLOAD)
        stream = cluster.peek("cap_stream", "'proto_version', '2', 'streaming', 'on'")
    finally:
        cluster.stop()

    if len(text) != len(binary):
        sys.exit("text and binary captures differ in length")
    save(files, "v1", text)
    save(files, "bin", binary, skip=lambda i, data: data == text[i][1])
    save(files, "v2s", stream)

    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".bin") or old == "MANIFEST":
            os.remove(os.path.join(OUT, old))
    with open(os.path.join(OUT, "MANIFEST"), "w") as manifest:
        manifest.write("# file\tin_stream\txid (from the SQL result)\n")
        for name, data, in_stream, xid in files:
            with open(os.path.join(OUT, name), "wb") as f:
                f.write(data)
            manifest.write(f"{name}\t{int(in_stream)}\t{xid}\n")
    print(f"wrote {len(files)} vectors to {OUT}")


if __name__ == "__main__":
    main()
