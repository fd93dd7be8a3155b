"""Reading pgcdc's topics back: a Kafka consumer, Confluent framing, Avro
decoding with the schema fetched from the registry by id (fastavro, a decoder
independent of pgcdc's avro-c), and the Java client's default partitioner."""
import io
import json
import os
import struct
import time
import uuid

import fastavro
import requests
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "")
REGISTRY = os.environ.get("SCHEMA_REGISTRY_URL", "")

_schemas = {}


def schema_by_id(schema_id):
    if schema_id not in _schemas:
        r = requests.get(f"{REGISTRY}/schemas/ids/{schema_id}", timeout=10)
        r.raise_for_status()
        text = r.json()["schema"]
        _schemas[schema_id] = (json.loads(text), fastavro.parse_schema(json.loads(text)))
    return _schemas[schema_id]


def decode(data):
    """Confluent wire format -> (schema id, decoded record); None stays None."""
    if data is None:
        return None, None
    assert data[0] == 0, f"magic byte {data[0]}"
    schema_id = struct.unpack(">i", data[1:5])[0]
    _, parsed = schema_by_id(schema_id)
    return schema_id, fastavro.schemaless_reader(io.BytesIO(data[5:]), parsed)


def consume_until(topic, done, timeout=60, json_values=False):
    """Records of topic from the start, read until done(records) is true:
    dicts with key, value, partition, offset, key_id, value_id. Fails when
    done never becomes true in time."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "t" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    out = []
    try:
        deadline = time.time() + timeout
        # The topic may not exist yet: subscribe and keep polling.
        c.subscribe([topic])
        while not done(out) and time.time() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error():
                    continue
                rec = {"partition": m.partition(), "offset": m.offset(), "raw_key": m.key(),
                       "raw_value": m.value()}
                if json_values:
                    rec["key"] = json.loads(m.key()) if m.key() is not None else None
                    rec["value"] = json.loads(m.value()) if m.value() is not None else None
                else:
                    rec["key_id"], rec["key"] = decode(m.key())
                    rec["value_id"], rec["value"] = decode(m.value())
                out.append(rec)
    finally:
        c.close()
    assert done(out), f"{topic}: condition not met after {timeout}s with {len(out)} records"
    return out


def consume(topic, n, timeout=60, json_values=False):
    """The records of topic once at least n are there."""
    return consume_until(topic, lambda recs: len(recs) >= n, timeout, json_values)


def count_records(topic):
    """Records currently in topic (sum of high watermarks - low)."""
    c = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "count" + uuid.uuid4().hex})
    try:
        md = c.list_topics(topic, timeout=10)
        total = 0
        for p in md.topics[topic].partitions:
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += hi - lo
        return total
    finally:
        c.close()


def partitions_of(topic):
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    md = admin.list_topics(topic, timeout=10)
    return len(md.topics[topic].partitions)


def murmur2(data):
    """Kafka's Utils.murmur2 (what the Java producer's default partitioner hashes)."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (0x9747B28C ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    tail = length % 4
    base = length - tail
    if tail == 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


def java_partition(key, partitions):
    return (murmur2(key) & 0x7FFFFFFF) % partitions
