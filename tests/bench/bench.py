#!/usr/bin/env python3
"""pgcdc side by side with pg_recvlogical (the ceiling) and Debezium.

Run by tests/bench/run, which installs, builds and starts the harness first;
the harness's exports (PGHOST ... KAFKA_BOOTSTRAP SCHEMA_REGISTRY_URL) and
PGCDC_BIN must be in the environment.

Method, for each workload:
  1. recreate the table bench_t and the publication bench_pub (FOR TABLE
     bench_t), and any rows the workload changes;
  2. create one pgoutput slot per contender, then generate the load, so every
     contender drains exactly the same WAL; note the WAL position after it;
  3. run the contenders one at a time (2 cores: never concurrently). Each
     Kafka contender writes to its own, pre-created topic (LogAppendTime).
     Done = the topic's high watermark reaches the expected message count
     (for pg_recvlogical: it exits at the noted WAL position). CPU seconds
     (user + sys, /proc/PID/stat) and peak RSS (VmHWM, /proc/PID/status) of
     the contender's process, and CPU of the walsender serving it, are read
     when it is done.
Rates are in row changes per second, from the contender's start ("wall",
start-up included: a JVM and Connect worker take seconds) and from its first
delivered event ("stream").

Latency: per Kafka contender, a fresh slot, the contender started and warmed
up with one row, then a steady load (default 5000 rows/s, 10-row
transactions) for a while; latency of a row = the broker's LogAppendTime of
its message minus the time its transaction's COMMIT returned to the load
generator (same machine, same clock). p50 / p99 / max.

Memory: pgcdc alone drains a single 1M-row and then a single 5M-row
transaction; its peak RSS must not grow with the transaction.

Snapshot (--snapshot, a separate run): bench_t is filled with N rows (default
5M) before any slot exists. The baseline is `COPY ... TO STDOUT` into
/dev/null by psql: the whole table on one connection, and the table cut in
two key ranges read by two psql processes at once (an unmeasured COPY warms
the cache first). Then pgcdc (snapshot.mode = initial_only, Kafka sink, the
benchmark's format) with snapshot.max.threads = 1 and 2, and Debezium
(snapshot.mode = initial_only, snapshot.fetch.size raised), each into its own
pre-created topic; done = N messages in the topic. Rates are rows per second
from the contender's start.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import socket
import tempfile
import threading
import time
import urllib.request
import uuid

import psycopg
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PGBIN = os.environ.get("PGCDC_PGBIN", "/usr/lib/postgresql/15/bin")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PUB = "bench_pub"
CONTENDERS = ("pg_recvlogical", "pgcdc", "debezium")


def log(msg):
    print(f"bench: [{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def dsn():
    return (f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} "
            f"user={os.environ['PGUSER']} dbname={os.environ['PGDATABASE']}")


def db():
    return psycopg.connect(dsn(), autocommit=True)


def sql(conn, text, *args):
    with conn.cursor() as cur:
        cur.execute(text, args or None)
        return cur.fetchall() if cur.description else None


# --- processes -------------------------------------------------------------

def proc_cpu(pid):
    """user + sys CPU seconds of a process (all its threads), None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def proc_status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def proc_wchar(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Contender:
    """One contender process, started by one of the tests/bench scripts, which
    exec the real program so that the pid is the program's own."""

    def __init__(self, name, argv, logpath, env=None):
        self.name = name
        self.logpath = logpath
        self.log = open(logpath, "ab")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log, env=env,
                                     start_new_session=True)
        self.rusage = None

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        if self.rusage is not None:
            return False
        pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.rusage = ru
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return False

    def stop(self, timeout=60):
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.alive():
                log(f"{self.name} did not stop within {timeout} s, killing it")
                os.killpg(self.pid, signal.SIGKILL)
                while self.alive():
                    time.sleep(0.1)
        self.log.close()
        return self.proc.returncode

    def tail(self, n=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


class Scraper:
    """Polls a pgcdc's /metrics every `every` seconds on a thread of its
    own, as Prometheus would, for as long as a drain runs."""

    def __init__(self, port, every=1.0):
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.every = every
        self.ok = self.failed = 0
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.halt.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    r.read()
                    self.ok += r.status == 200
            except OSError:
                self.failed += 1  # not listening yet, or gone
            self.halt.wait(self.every)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.halt.set()
        self.thread.join()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def walsender_pid(conn, slot):
    r = sql(conn, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", slot)
    return r[0][0] if r and r[0][0] else None


# --- Kafka -----------------------------------------------------------------

class Kafka:
    def __init__(self):
        self.bootstrap = os.environ["KAFKA_BOOTSTRAP"]
        self.admin = AdminClient({"bootstrap.servers": self.bootstrap})
        self.consumer = Consumer({"bootstrap.servers": self.bootstrap,
                                  "group.id": "bench-" + uuid.uuid4().hex,
                                  "enable.auto.commit": False})

    def create_topic(self, topic, partitions=1):
        """Pre-creates a topic with broker-side timestamps (LogAppendTime),
        before the contender would create it with its own settings."""
        fut = self.admin.create_topics([NewTopic(
            topic, num_partitions=partitions, replication_factor=1,
            config={"message.timestamp.type": "LogAppendTime"})])
        fut[topic].result(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            md = self.admin.list_topics(topic, timeout=10).topics.get(topic)
            if md and not md.error and md.partitions and all(
                    p.leader >= 0 for p in md.partitions.values()):
                return
            time.sleep(0.05)

    def delete_topics(self, topics):
        if not topics:
            return
        for f in self.admin.delete_topics(list(topics)).values():
            try:
                f.result(30)
            except Exception:  # already gone
                pass

    def count(self, topic, partitions=1):
        """Sum of the topic's high watermarks (messages acknowledged by the
        broker); 0 while a new topic has no leader yet."""
        total = 0
        for p in range(partitions):
            try:
                lo, hi = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10,
                                                             cached=False)
            except KafkaException:
                return 0
            total += hi
        return total

    def read_all(self, topic, n, timeout=120):
        """(key bytes, timestamp type, timestamp ms) of the first n messages."""
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "bench-" + uuid.uuid4().hex,
                      "enable.auto.commit": False, "auto.offset.reset": "earliest",
                      "fetch.max.bytes": 52428800})
        c.assign([TopicPartition(topic, 0, 0)])
        out = []
        deadline = time.monotonic() + timeout
        try:
            while len(out) < n and time.monotonic() < deadline:
                for m in c.consume(10000, 1.0):
                    if m.error():
                        continue
                    tstype, ts = m.timestamp()
                    out.append((m.key(), tstype, ts))
        finally:
            c.close()
        return out


def key_id(key):
    """The bench table's id from a message key: Debezium-style JSON
    ({"id": n}, with or without a schema) or Confluent-framed Avro (a record
    with one long field: zigzag varint after the 5-byte header)."""
    if key is None:
        return None
    if key[:1] == b"\x00" and len(key) >= 6:
        v, shift = 0, 0
        for b in key[5:]:
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return (v >> 1) ^ -(v & 1)
    k = json.loads(key)
    if "payload" in k and "schema" in k:
        k = k["payload"]
    return int(k["id"])


# --- database and workloads ------------------------------------------------

TABLE_DDL = """
DROP PUBLICATION IF EXISTS bench_pub;
DROP TABLE IF EXISTS bench_t;
DROP SEQUENCE IF EXISTS bench_seq;
CREATE TABLE bench_t (
    id bigint PRIMARY KEY,
    i integer NOT NULL,
    s varchar(32) NOT NULL,
    ts timestamptz NOT NULL,
    n numeric(12,2) NOT NULL
);
CREATE SEQUENCE bench_seq;
CREATE PUBLICATION bench_pub FOR TABLE bench_t;
"""


def insert_sql(first, last):
    return (f"INSERT INTO bench_t SELECT g, g % 1000000, md5(g::text), now(), "
            f"(g % 10000000) / 100.0 FROM generate_series({first}, {last}) g")


def reset_db(conn):
    for (slot,) in sql(conn, "SELECT slot_name FROM pg_replication_slots "
                             "WHERE slot_name LIKE 'bench%%' AND NOT active"):
        sql(conn, "SELECT pg_drop_replication_slot(%s)", slot)
    with conn.cursor() as cur:
        cur.execute(TABLE_DDL)


def create_slot(conn, slot):
    sql(conn, "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", slot)


def drop_slot(conn, slot):
    for _ in range(100):
        r = sql(conn, "SELECT active FROM pg_replication_slots WHERE slot_name = %s", slot)
        if not r:
            return
        if not r[0][0]:
            sql(conn, "SELECT pg_drop_replication_slot(%s)", slot)
            return
        time.sleep(0.1)
    log(f"warning: slot {slot} still active, left in place")


def wal_lsn(conn):
    return sql(conn, "SELECT pg_current_wal_lsn()::text")[0][0]


class Workload:
    """name, description, prepare (before slots), load (after slots), the
    number of row changes and the number of Kafka messages it makes."""

    def __init__(self, name, desc, changes, messages, prepare, load):
        self.name, self.desc = name, desc
        self.changes, self.messages = changes, messages
        self.prepare, self.load = prepare, load


def w1(rows):
    def load(conn):
        sql(conn, insert_sql(1, rows))
    return Workload("W1", f"one {rows}-row INSERT transaction", rows, rows, lambda c: None, load)


def w2(txns, clients):
    clients = max(1, min(clients, txns))
    per = txns // clients
    total = per * clients

    def load(conn):
        script = os.path.join(tempfile.mkdtemp(prefix="bench-pgbench-"), "w2.sql")
        with open(script, "w") as f:
            f.write("\\set r random(1, 1000000000)\n"
                    "INSERT INTO bench_t VALUES (nextval('bench_seq'), :r, md5(:r::text), now(), "
                    "(:r % 10000000) / 100.0);\n")
        subprocess.run([f"{PGBIN}/pgbench", "-n", "-c", str(clients), "-j", str(min(clients, 2)),
                        "-t", str(per), "-f", script, "-h", os.environ["PGHOST"],
                        "-p", os.environ["PGPORT"], "-U", os.environ["PGUSER"],
                        os.environ["PGDATABASE"]], check=True, stdout=subprocess.DEVNULL)
        shutil.rmtree(os.path.dirname(script))
    return Workload("W2", f"{total} single-row INSERT transactions (pgbench -c {clients})",
                    total, total, lambda c: None, load)


def w3(updates, deletes, batch=1000):
    deletes = min(deletes, updates)

    def prepare(conn):
        sql(conn, insert_sql(1, updates))
        sql(conn, "VACUUM ANALYZE bench_t")

    def load(conn):
        for lo in range(0, updates, batch):
            sql(conn, "UPDATE bench_t SET i = i + 1, ts = now() WHERE id > %s AND id <= %s",
                lo, min(lo + batch, updates))
        for lo in range(0, deletes, batch):
            sql(conn, "DELETE FROM bench_t WHERE id > %s AND id <= %s", lo, min(lo + batch, deletes))
    # each delete is followed by a tombstone in Kafka
    return Workload("W3", f"{updates} UPDATEs then {deletes} DELETEs, {batch} rows per transaction",
                    updates + deletes, updates + 2 * deletes, prepare, load)


# --- running contenders ----------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="pgcdc-bench-")
        self.kafka = Kafka()
        self.run_id = uuid.uuid4().hex[:6]
        self.topics = []

    def argv(self, contender, slot, prefix, endpos=None, converter="json", opts=()):
        wd = os.path.join(self.work, prefix)
        if contender == "pg_recvlogical":
            return [os.path.join(HERE, "contender-recvlogical"), slot, PUB, endpos]
        if contender == "pgcdc":
            return [os.path.join(HERE, "contender-pgcdc"), wd, slot, PUB, prefix,
                    self.args.format] + [a for o in opts for a in ("-o", o)]
        return [os.path.join(HERE, "contender-debezium"), "run", wd, slot, PUB, prefix, converter]

    def start(self, contender, slot, prefix, endpos=None, opts=()):
        os.makedirs(os.path.join(self.work, prefix), exist_ok=True)
        return Contender(contender, self.argv(contender, slot, prefix, endpos, opts=opts),
                         os.path.join(self.work, prefix + ".log"))

    def drain(self, conn, contender, slot, wl, endpos, tag=None, scrape_port=None):
        """Runs one contender over its slot until it has delivered the
        workload; returns its figures. scrape_port: pgcdc serves
        metrics.listen there, and a scraper polls /metrics every second
        meanwhile."""
        prefix = f"b{self.run_id}_{wl.name.lower()}_{tag or contender.replace('_', '')}"
        topic = f"{prefix}.public.bench_t"
        kafka = contender != "pg_recvlogical"
        if kafka:
            self.kafka.create_topic(topic)
            self.topics.append(topic)
        opts = [f"metrics.listen=127.0.0.1:{scrape_port}"] if scrape_port else []
        c = self.start(contender, slot, prefix, endpos, opts=opts)
        scraper = Scraper(scrape_port) if scrape_port else None
        if scraper:
            scraper.__enter__()
        t_first = None
        wpid, wcpu = None, 0.0
        cpu = hwm = None
        done = False
        timeout = self.args.timeout
        count = 0
        try:
            while time.monotonic() - c.t0 < timeout:
                if kafka:
                    count = self.kafka.count(topic)
                    if count and t_first is None:
                        t_first = time.monotonic()
                    if count >= wl.messages:
                        done = True
                elif t_first is None and proc_wchar(c.pid) > 0:
                    t_first = time.monotonic()
                if wpid is None:
                    wpid = walsender_pid(conn, slot)
                if wpid is not None:
                    wcpu = proc_cpu(wpid) or wcpu
                if done:
                    break
                # read the process's figures while it still exists
                cpu_now, hwm_now = proc_cpu(c.pid), proc_status_kb(c.pid, "VmHWM")
                if not c.alive():
                    if not kafka and c.proc.returncode == 0:
                        done = True
                        ru = c.rusage
                        cpu = ru.ru_utime + ru.ru_stime
                        hwm = ru.ru_maxrss
                        count = wl.changes
                        break
                    log(f"{contender} exited with {c.proc.returncode} before it was done:\n{c.tail()}")
                    break
                cpu, hwm = cpu_now, hwm_now
                time.sleep(0.02)
            t_done = time.monotonic()
            if kafka and done:
                cpu = proc_cpu(c.pid)
                hwm = proc_status_kb(c.pid, "VmHWM")
            if wpid is not None:
                wcpu = proc_cpu(wpid) or wcpu
        finally:
            if scraper:
                scraper.__exit__(None, None, None)
            c.stop()
        wall = t_done - c.t0
        res = {"done": done, "wall_s": round(wall, 3), "row_changes": wl.changes,
               "messages": wl.messages if kafka else None,
               "delivered": count, "cpu_s": round(cpu, 3) if cpu is not None else None,
               "peak_rss_mb": round(hwm / 1024, 1) if hwm else None,
               "walsender_cpu_s": round(wcpu, 3) if wcpu else None}
        if scraper:
            res["scrapes"] = scraper.ok
            res["scrapes_failed"] = scraper.failed
        if done:
            res["events_per_s"] = round(wl.changes / wall)
            if t_first is not None and t_done > t_first:
                res["stream_s"] = round(t_done - t_first, 3)
                res["stream_events_per_s"] = round(wl.changes / (t_done - t_first))
            if cpu:
                res["cpu_us_per_event"] = round(cpu * 1e6 / wl.changes, 2)
        else:
            log(f"{contender} on {wl.name}: not done after {wall:.0f} s "
                f"({count} of {wl.messages if kafka else wl.changes})")
        return res

    def throughput(self, conn, wl):
        log(f"{wl.name}: {wl.desc}")
        reset_db(conn)
        wl.prepare(conn)
        slots = {c: f"bench_{wl.name.lower()}_{c.replace('_', '')}" for c in self.args.contenders}
        warm = f"bench_{wl.name.lower()}_warmup"
        for s in list(slots.values()) + [warm]:
            create_slot(conn, s)
        t = time.monotonic()
        wl.load(conn)
        endpos = wal_lsn(conn)
        load_s = round(time.monotonic() - t, 2)
        log(f"{wl.name}: load generated in {load_s} s, WAL up to {endpos}")
        # The first pass over fresh WAL costs the server more than later ones
        # (caches); an unmeasured pass first makes the order of the contenders
        # irrelevant.
        wr = self.drain(conn, "pg_recvlogical", warm, wl, endpos, tag="warmup")
        drop_slot(conn, warm)
        log(f"{wl.name}: warm-up pass {wr['wall_s']} s, walsender cpu {wr['walsender_cpu_s']} s")
        out = {"description": wl.desc, "row_changes": wl.changes, "kafka_messages": wl.messages,
               "load_s": load_s, "warmup": wr, "contenders": {}}
        for c in self.args.contenders:
            r = self.drain(conn, c, slots[c], wl, endpos)
            drop_slot(conn, slots[c])
            out["contenders"][c] = r
            log(f"{wl.name} {c}: {fmt_rate(r)} ev/s, cpu {r['cpu_s']} s, "
                f"peak RSS {r['peak_rss_mb']} MB")
        self.kafka.delete_topics(self.topics)
        self.topics = []
        return out

    def metrics_cost(self, conn, wl, reps):
        """What serving /metrics costs: pgcdc drains the same W1 WAL `reps`
        times without metrics.listen and `reps` times with it while a
        scraper polls /metrics every second, alternating (plain first, then
        metrics first) so that drift favours neither; medians compared."""
        log(f"metrics cost: {wl.name} ({wl.desc}), {reps} run(s) each way")
        reset_db(conn)
        wl.prepare(conn)
        runs = []
        for i in range(reps):
            pair = [("plain", False), ("metrics", True)]
            runs += pair if i % 2 == 0 else pair[::-1]
        slots = [f"bench_mc_{i}" for i in range(len(runs))]
        warm = "bench_mc_warmup"
        for sl in slots + [warm]:
            create_slot(conn, sl)
        wl.load(conn)
        endpos = wal_lsn(conn)
        self.drain(conn, "pg_recvlogical", warm, wl, endpos, tag="mcwarmup")
        drop_slot(conn, warm)
        out = {"description": wl.desc, "row_changes": wl.changes, "runs": []}
        for i, ((kind, scraped), sl) in enumerate(zip(runs, slots)):
            r = self.drain(conn, "pgcdc", sl, wl, endpos, tag=f"mc{kind}{i}",
                           scrape_port=free_port() if scraped else None)
            drop_slot(conn, sl)
            r["kind"] = kind
            out["runs"].append(r)
            log(f"metrics cost {kind} #{i}: {fmt_rate(r)} ev/s, scrapes {r.get('scrapes', '-')}")
        self.kafka.delete_topics(self.topics)
        self.topics = []
        med = {}
        for kind in ("plain", "metrics"):
            rates = [r.get("events_per_s") for r in out["runs"] if r["kind"] == kind]
            med[kind] = statistics.median(rates) if rates and all(rates) else None
        out["median_events_per_s"] = med
        if med["plain"] and med["metrics"]:
            out["cost_pct"] = round((1 - med["metrics"] / med["plain"]) * 100, 2)
            out["within_2_pct"] = out["cost_pct"] <= 2.0
        return out

    def latency(self, conn, contender):
        rate, secs, batch = self.args.latency_rate, self.args.latency_seconds, 10
        log(f"latency {contender}: {rate} rows/s for {secs} s")
        reset_db(conn)
        slot = f"bench_lat_{contender}"
        create_slot(conn, slot)
        prefix = f"b{self.run_id}_lat_{contender}"
        topic = f"{prefix}.public.bench_t"
        self.kafka.create_topic(topic)
        c = self.start(contender, slot, prefix)
        res = {"rate_rows_per_s": rate, "seconds": secs, "rows_per_transaction": batch}
        try:
            # warm up: one row, and wait until it is in Kafka
            sql(conn, insert_sql(0, 0))
            deadline = time.monotonic() + 180
            while self.kafka.count(topic) < 1:
                if not c.alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"{contender} did not deliver the warm-up row:\n{c.tail()}")
                time.sleep(0.05)
            commit_ms = {}
            interval = batch / rate
            n_tx = int(rate * secs / batch)
            t_next = time.monotonic()
            t_start = time.monotonic()
            with conn.cursor() as cur:
                for k in range(n_tx):
                    now = time.monotonic()
                    if now < t_next:
                        time.sleep(t_next - now)
                    t_next += interval
                    first = k * batch + 1
                    cur.execute(insert_sql(first, first + batch - 1))
                    commit_ms[k] = time.time() * 1000.0
            achieved = n_tx * batch / (time.monotonic() - t_start)
            total = n_tx * batch + 1
            deadline = time.monotonic() + 300
            while self.kafka.count(topic) < total and time.monotonic() < deadline:
                time.sleep(0.1)
            res["achieved_rows_per_s"] = round(achieved)
            res["cpu_s"] = proc_cpu(c.pid)
            hwm = proc_status_kb(c.pid, "VmHWM")
            res["peak_rss_mb"] = round(hwm / 1024, 1) if hwm else None
        finally:
            c.stop()
        msgs = self.kafka.read_all(topic, total)
        lat = []
        bad_ts = 0
        for key, tstype, ts in msgs:
            i = key_id(key)
            if not i:
                continue
            if tstype != 2:  # TIMESTAMP_LOG_APPEND_TIME
                bad_ts += 1
            lat.append(ts - commit_ms[(i - 1) // batch])
        self.kafka.delete_topics([topic])
        drop_slot(conn, slot)
        if bad_ts:
            log(f"warning: {bad_ts} messages without LogAppendTime")
        if len(lat) < n_tx * batch:
            log(f"latency {contender}: only {len(lat)} of {n_tx * batch} rows arrived")
        res["received"] = len(lat)
        if lat:
            lat.sort()
            res["p50_ms"] = round(lat[len(lat) // 2], 1)
            res["p99_ms"] = round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1)
            res["max_ms"] = round(lat[-1], 1)
            res["mean_ms"] = round(statistics.fmean(lat), 1)
        log(f"latency {contender}: p50 {res.get('p50_ms')} ms, p99 {res.get('p99_ms')} ms, "
            f"max {res.get('max_ms')} ms (achieved {res.get('achieved_rows_per_s')} rows/s)")
        return res

    def copy_baseline(self, conn, rows, parts):
        """Seconds for psql to COPY the table to /dev/null, cut in `parts`
        key ranges read at once by as many psql processes."""
        base = ["psql", "-X", "-q", "-h", os.environ["PGHOST"], "-p", os.environ["PGPORT"],
                "-U", os.environ["PGUSER"], "-d", os.environ["PGDATABASE"], "-c"]
        if parts == 1:
            cmds = [base + ["COPY bench_t TO STDOUT"]]
        else:
            step = -(-rows // parts)
            cmds = [base + [f"COPY (SELECT * FROM bench_t WHERE id > {k * step} AND "
                            f"id <= {(k + 1) * step}) TO STDOUT"] for k in range(parts)]
        t = time.monotonic()
        procs = [subprocess.Popen(c, stdout=subprocess.DEVNULL) for c in cmds]
        rcs = [p.wait() for p in procs]
        secs = time.monotonic() - t
        if any(rcs):
            raise RuntimeError(f"psql COPY failed: {rcs}")
        return {"done": True, "wall_s": round(secs, 3), "rows_per_s": round(rows / secs)}

    def snapshot_run(self, conn, contender, rows, threads):
        """One contender's initial_only snapshot of bench_t into its own
        topic; figures once the topic holds every row."""
        tag = f"{contender}{threads}" if contender == "pgcdc" else contender
        prefix = f"b{self.run_id}_snap_{tag}"
        topic = f"{prefix}.public.bench_t"
        slot = f"bench_snap_{tag}"
        self.kafka.create_topic(topic)
        self.topics.append(topic)
        wd = os.path.join(self.work, prefix)
        os.makedirs(wd, exist_ok=True)
        env = dict(os.environ)
        if contender == "pgcdc":
            argv = self.argv("pgcdc", slot, prefix) + [
                "-o", "snapshot.mode=initial_only", "-o", f"snapshot.max.threads={threads}"]
        else:
            argv = self.argv("debezium", slot, prefix)
            # Debezium's fastest settings for one table: a bigger fetch size
            # (its default is 10240); its threads only share tables.
            env["DEBEZIUM_CONNECTOR_EXTRA"] = "snapshot.mode=initial_only\nsnapshot.fetch.size=65536"
        c = Contender(contender, argv, os.path.join(self.work, prefix + ".log"), env=env)
        t_first = cpu = hwm = None
        done = False
        count = 0
        try:
            while time.monotonic() - c.t0 < self.args.timeout:
                count = self.kafka.count(topic)
                if count and t_first is None:
                    t_first = time.monotonic()
                if count >= rows:
                    done = True
                    break
                cpu_now, hwm_now = proc_cpu(c.pid), proc_status_kb(c.pid, "VmHWM")
                if not c.alive():
                    # pgcdc stops once all is delivered: the count says so
                    count = self.kafka.count(topic)
                    if c.proc.returncode == 0 and count >= rows:
                        done = True
                        ru = c.rusage
                        cpu, hwm = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
                    else:
                        log(f"{tag} exited with {c.proc.returncode} after {count} of {rows} "
                            f"rows:\n{c.tail()}")
                    break
                cpu, hwm = cpu_now, hwm_now
                time.sleep(0.05)
            t_done = time.monotonic()
            if done and c.alive():
                cpu, hwm = proc_cpu(c.pid), proc_status_kb(c.pid, "VmHWM")
        finally:
            c.stop()
            drop_slot(conn, slot)
        wall = t_done - c.t0
        res = {"done": done, "threads": threads, "wall_s": round(wall, 3), "delivered": count,
               "cpu_s": round(cpu, 3) if cpu is not None else None,
               "peak_rss_mb": round(hwm / 1024, 1) if hwm else None}
        if done:
            res["rows_per_s"] = round(rows / wall)
            if t_first is not None and t_done > t_first:
                res["stream_rows_per_s"] = round(rows / (t_done - t_first))
            if cpu:
                res["cpu_us_per_row"] = round(cpu * 1e6 / rows, 2)
        return res

    def snapshot(self, conn):
        rows = self.args.snapshot_rows
        log(f"snapshot: filling bench_t with {rows} rows")
        reset_db(conn)
        t = time.monotonic()
        step = 1000000
        for lo in range(1, rows + 1, step):
            sql(conn, insert_sql(lo, min(lo + step - 1, rows)))
        sql(conn, "VACUUM ANALYZE bench_t")
        size = sql(conn, "SELECT pg_total_relation_size('bench_t')")[0][0]
        log(f"snapshot: {rows} rows, {size / 1048576:.0f} MB, in {time.monotonic() - t:.1f} s")
        out = {"rows": rows, "table_mb": round(size / 1048576), "runs": {}}
        self.copy_baseline(conn, rows, 1)  # warm the cache, unmeasured
        for parts in (1, 2):
            r = self.copy_baseline(conn, rows, parts)
            out["runs"][f"COPY x{parts}"] = r
            log(f"snapshot: COPY on {parts} connection(s): {r['rows_per_s']:,} rows/s")
        runs = [("pgcdc", 1), ("pgcdc", 2)]
        if "debezium" in self.args.contenders:
            runs.append(("debezium", 1))
        for contender, threads in runs:
            name = f"{contender} x{threads}" if contender == "pgcdc" else contender
            r = self.snapshot_run(conn, contender, rows, threads)
            out["runs"][name] = r
            log(f"snapshot: {name}: {fmt_rows(r)} rows/s, cpu {r['cpu_s']} s, "
                f"peak RSS {r['peak_rss_mb']} MB")
            self.kafka.delete_topics(self.topics)
            self.topics = []
        runs_ = out["runs"]
        out["ratios"] = {
            "pgcdc x1 / COPY x1": ratio(runs_["pgcdc x1"].get("rows_per_s"),
                                        runs_["COPY x1"]["rows_per_s"]),
            "pgcdc x2 / COPY x2": ratio(runs_["pgcdc x2"].get("rows_per_s"),
                                        runs_["COPY x2"]["rows_per_s"]),
            "pgcdc x2 / COPY x1": ratio(runs_["pgcdc x2"].get("rows_per_s"),
                                        runs_["COPY x1"]["rows_per_s"]),
            "pgcdc x2 / pgcdc x1": ratio(runs_["pgcdc x2"].get("rows_per_s"),
                                         runs_["pgcdc x1"].get("rows_per_s")),
        }
        if "debezium" in runs_:
            out["ratios"]["pgcdc x2 / debezium"] = ratio(runs_["pgcdc x2"].get("rows_per_s"),
                                                         runs_["debezium"].get("rows_per_s"))
        return out

    def memory(self, conn):
        out = {}
        for rows in self.args.memory_rows:
            wl = w1(rows)
            wl.name = f"M{rows}"
            log(f"memory: pgcdc over one {rows}-row transaction")
            reset_db(conn)
            slot = f"bench_mem_{rows}"
            create_slot(conn, slot)
            t = time.monotonic()
            wl.load(conn)
            endpos = wal_lsn(conn)
            log(f"memory: load generated in {time.monotonic() - t:.1f} s")
            r = self.drain(conn, "pgcdc", slot, wl, endpos)
            drop_slot(conn, slot)
            self.kafka.delete_topics(self.topics)
            self.topics = []
            out[str(rows)] = r
            log(f"memory: {rows} rows: peak RSS {r['peak_rss_mb']} MB, {fmt_rate(r)} ev/s")
        return out


# --- report ----------------------------------------------------------------

def fmt_rate(r):
    return f"{r['events_per_s']:,}" if r.get("events_per_s") else "-"


def fmt_rows(r):
    return f"{r['rows_per_s']:,}" if r.get("rows_per_s") else "-"


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = proc_status_kb_file("/proc/meminfo", "MemTotal")

    def out(*argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return None

    def pom(path, key):
        try:
            with open(path) as f:
                m = re.search(f"<{re.escape(key)}>(.*?)</", f.read())
                return m.group(1) if m else None
        except OSError:
            return None
    with db() as conn:
        pgver = sql(conn, "SHOW server_version")[0][0]
    return {
        "hostname": platform.node(), "nproc": os.cpu_count(), "cpu_model": cpu,
        "memory_gb": round(mem / 1048576, 1) if mem else None,
        "kernel": platform.release(), "os": out("sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"),
        "pgcdc": out(os.environ["PGCDC_BIN"], "--version"),
        "pgcdc_commit": out("git", "-C", ROOT, "rev-parse", "--short", "HEAD"),
        "postgresql": pgver, "pg_recvlogical": out(f"{PGBIN}/pg_recvlogical", "--version"),
        "kafka": pom(os.path.join(ROOT, "tests/harness/pom.xml"), "kafka.version"),
        "debezium": pom(os.path.join(HERE, "pom.xml"), "debezium.version"),
        "kafka_connect": pom(os.path.join(HERE, "pom.xml"), "kafka.version"),
        "java": out("java", "-version"), "python": platform.python_version(),
    }


def proc_status_kb_file(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def table(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths)),
             "  ".join("-" * w for w in widths)]
    for r in rows:
        lines.append("  ".join(str(v).rjust(w) if i else str(v).ljust(w)
                               for i, (v, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def report(res):
    d = lambda v: "-" if v is None else (f"{v:,}" if isinstance(v, int) else str(v))  # noqa: E731
    out = []
    rows = []
    for wname, w in res.get("throughput", {}).items():
        for c, r in w["contenders"].items():
            rows.append([wname, c, d(r["row_changes"]), d(r["wall_s"]), d(r.get("events_per_s")),
                         d(r.get("stream_events_per_s")), d(r["cpu_s"]), d(r.get("cpu_us_per_event")),
                         d(r["peak_rss_mb"]), d(r["walsender_cpu_s"])])
    if rows:
        out.append("Throughput (row changes; rates from the contender's start / from its first event)")
        out.append(table(rows, ["workload", "contender", "changes", "wall s", "ev/s", "stream ev/s",
                                "cpu s", "cpu us/ev", "peak RSS MB", "walsender cpu s"]))
        rrows = []
        for wname, rr in res.get("ratios", {}).items():
            rrows.append([wname] + [d(rr.get(k)) for k in (
                "pgcdc/ceiling ev/s", "pgcdc/ceiling stream ev/s", "pgcdc/debezium ev/s",
                "pgcdc/debezium stream ev/s", "debezium/pgcdc cpu per event")])
        out.append("")
        out.append("Ratios")
        out.append(table(rrows, ["workload", "pgcdc/ceiling", "(stream)", "pgcdc/debezium",
                                 "(stream)", "debezium cpu / pgcdc cpu"]))
    if res.get("latency"):
        rows = [[c, d(r.get("achieved_rows_per_s")), d(r.get("received")), d(r.get("p50_ms")),
                 d(r.get("p99_ms")), d(r.get("max_ms")), d(r.get("peak_rss_mb"))]
                for c, r in res["latency"].items()]
        out.append("")
        out.append("Latency, commit -> broker LogAppendTime, steady load")
        out.append(table(rows, ["contender", "rows/s", "rows", "p50 ms", "p99 ms", "max ms",
                                "peak RSS MB"]))
    if res.get("memory"):
        rows = [[f"{int(k):,}", d(r["peak_rss_mb"]), d(r.get("events_per_s")), d(r["cpu_s"])]
                for k, r in res["memory"].items()]
        out.append("")
        out.append("pgcdc memory, one transaction of N rows")
        out.append(table(rows, ["rows", "peak RSS MB", "ev/s", "cpu s"]))
    if res.get("metrics_cost"):
        mc = res["metrics_cost"]
        rows = [[r["kind"], d(r["wall_s"]), d(r.get("events_per_s")), d(r.get("cpu_s")),
                 d(r.get("scrapes"))] for r in mc["runs"]]
        out.append("")
        out.append(f"Cost of /metrics: pgcdc on {mc['description']}, without metrics.listen "
                   f"and with a scraper every second")
        out.append(table(rows, ["run", "wall s", "ev/s", "cpu s", "scrapes"]))
        out.append(f"median ev/s: plain {d(mc['median_events_per_s']['plain'])}, with metrics "
                   f"{d(mc['median_events_per_s']['metrics'])}; cost {d(mc.get('cost_pct'))} % "
                   f"(at most 2 %: {d(mc.get('within_2_pct'))})")
    if res.get("snapshot"):
        sn = res["snapshot"]
        rows = [[name, d(r["wall_s"]), d(r.get("rows_per_s")), d(r.get("stream_rows_per_s")),
                 d(r.get("cpu_s")), d(r.get("cpu_us_per_row")), d(r.get("peak_rss_mb"))]
                for name, r in sn["runs"].items()]
        out.append("")
        out.append(f"Snapshot of a {sn['rows']:,}-row table ({sn['table_mb']} MB): COPY into "
                   f"/dev/null, and each contender into Kafka (xN: connections)")
        out.append(table(rows, ["run", "wall s", "rows/s", "(from first)", "cpu s", "cpu us/row",
                                "peak RSS MB"]))
        out.append("")
        out.append(table([[k, d(v)] for k, v in sn["ratios"].items()], ["ratio", "value"]))
    return "\n".join(out)


def ratios(res):
    out = {}
    for wname, w in res.get("throughput", {}).items():
        c = w["contenders"]
        p, ceil, dbz = c.get("pgcdc", {}), c.get("pg_recvlogical", {}), c.get("debezium", {})
        out[wname] = {
            "pgcdc/ceiling ev/s": ratio(p.get("events_per_s"), ceil.get("events_per_s")),
            "pgcdc/ceiling stream ev/s": ratio(p.get("stream_events_per_s"),
                                               ceil.get("stream_events_per_s")),
            "pgcdc/debezium ev/s": ratio(p.get("events_per_s"), dbz.get("events_per_s")),
            "pgcdc/debezium stream ev/s": ratio(p.get("stream_events_per_s"),
                                                dbz.get("stream_events_per_s")),
            "debezium/pgcdc cpu per event": ratio(dbz.get("cpu_us_per_event"),
                                                  p.get("cpu_us_per_event")),
        }
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    env = os.environ.get
    ap.add_argument("--quick", action="store_true", help="tiny sizes, a smoke test")
    ap.add_argument("--memory", action="store_true", help="only the memory part")
    ap.add_argument("--snapshot", action="store_true",
                    help="only the snapshot part: COPY, pgcdc with 1 and 2 threads, Debezium")
    ap.add_argument("--snapshot-rows", type=int, default=int(env("BENCH_SNAPSHOT_ROWS", 5000000)))
    ap.add_argument("--metrics", action="store_true",
                    help="only the cost of /metrics: pgcdc on W1 with and without a scraper")
    ap.add_argument("--metrics-reps", type=int, default=int(env("BENCH_METRICS_REPS", 3)),
                    help="runs of each kind for --metrics")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory part")
    ap.add_argument("--no-latency", action="store_true", help="skip the latency part")
    ap.add_argument("--format", default=env("BENCH_FORMAT", "avro"), choices=("json", "avro"))
    ap.add_argument("--contenders", default=env("BENCH_CONTENDERS", ",".join(CONTENDERS)))
    ap.add_argument("--workloads", default=env("BENCH_WORKLOADS", "W1,W2,W3"))
    ap.add_argument("--w1-rows", type=int, default=int(env("BENCH_W1_ROWS", 1000000)))
    ap.add_argument("--w2-txns", type=int, default=int(env("BENCH_W2_TXNS", 200000)))
    ap.add_argument("--w2-clients", type=int, default=int(env("BENCH_W2_CLIENTS", 4)))
    ap.add_argument("--w3-updates", type=int, default=int(env("BENCH_W3_UPDATES", 500000)))
    ap.add_argument("--w3-deletes", type=int, default=int(env("BENCH_W3_DELETES", 100000)))
    ap.add_argument("--latency-rate", type=int, default=int(env("BENCH_LATENCY_RATE", 5000)))
    ap.add_argument("--latency-seconds", type=int, default=int(env("BENCH_LATENCY_SECONDS", 20)))
    ap.add_argument("--memory-rows", default=env("BENCH_MEMORY_ROWS", "1000000,5000000"))
    ap.add_argument("--timeout", type=int, default=int(env("BENCH_TIMEOUT", 900)),
                    help="seconds a contender may take for one workload")
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    if a.quick:
        a.w1_rows, a.w2_txns, a.w3_updates, a.w3_deletes = 20000, 5000, 10000, 2000
        a.latency_seconds, a.latency_rate = 5, 2000
        a.memory_rows = "20000,100000"
        a.snapshot_rows = 100000
    a.contenders = [c for c in a.contenders.split(",") if c]
    for c in a.contenders:
        if c not in CONTENDERS:
            ap.error(f"unknown contender '{c}'")
    a.memory_rows = [int(x) for x in a.memory_rows.split(",") if x]

    bench = Bench(a)
    started = datetime.datetime.now(datetime.timezone.utc)
    res = {"started": started.isoformat(timespec="seconds"), "mode": "quick" if a.quick else "default",
           "format": a.format, "machine": machine_info(),
           "settings": {k: v for k, v in vars(a).items() if k != "results"}}
    log(f"work directory {bench.work}")
    workloads = {"W1": w1(a.w1_rows), "W2": w2(a.w2_txns, a.w2_clients),
                 "W3": w3(a.w3_updates, a.w3_deletes)}
    with db() as conn:
        if a.snapshot:
            res["snapshot"] = bench.snapshot(conn)
        elif a.metrics:
            res["metrics_cost"] = bench.metrics_cost(conn, workloads["W1"], a.metrics_reps)
        elif not a.memory:
            res["throughput"] = {}
            for name in [w for w in a.workloads.split(",") if w]:
                res["throughput"][name] = bench.throughput(conn, workloads[name])
            res["ratios"] = ratios(res)
            if not a.no_latency:
                res["latency"] = {}
                for c in a.contenders:
                    if c != "pg_recvlogical":
                        try:
                            res["latency"][c] = bench.latency(conn, c)
                        except Exception as e:  # report, carry on with the others
                            log(f"latency {c} failed: {e}")
                            res["latency"][c] = {"error": str(e)}
        if a.memory or (not a.no_memory and not a.snapshot and not a.metrics):
            res["memory"] = bench.memory(conn)
        reset_db(conn)
    res["seconds"] = round((datetime.datetime.now(datetime.timezone.utc) - started).total_seconds())
    text = report(res)
    print(text)
    os.makedirs(a.results, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    kind = "snapshot-" if a.snapshot else "metrics-" if a.metrics else "bench-"
    path = os.path.join(a.results, f"{kind}{stamp}{'-quick' if a.quick else ''}.json")
    with open(path, "w") as f:
        json.dump(res, f, indent=2)
        f.write("\n")
    latest = ("latest-snapshot.json" if a.snapshot else
              "latest-metrics.json" if a.metrics else "latest.json")
    shutil.copyfile(path, os.path.join(a.results, latest))
    log(f"results in {path} and {latest} ({res['seconds']} s)")
    shutil.rmtree(bench.work, ignore_errors=True)
    failed = [f"{w} {c}" for w, v in res.get("throughput", {}).items()
              for c, r in v["contenders"].items() if not r["done"]]
    failed += [f"memory {k}" for k, r in res.get("memory", {}).items() if not r["done"]]
    failed += [f"snapshot {k}" for k, r in res.get("snapshot", {}).get("runs", {}).items()
               if not r["done"]]
    failed += [f"metrics cost {r['kind']}" for r in res.get("metrics_cost", {}).get("runs", [])
               if not r["done"]]
    if failed:
        log("not done: " + ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
