"""Checks that includes run one way through the stages of DESIGN.md.

    source -> model -> encode -> sink      (checkpoint: only lsn.h)

A file of a stage may include headers of its own stage, of an earlier
stage, and the shared vocabulary; never a header of a later stage. The
checkpoint code includes nothing of pgcdc but lsn.h (and hex.h's digit
values) and its own headers.
The top-level files (pipeline.c, snapshot_run.c, check.c, drop.c, status.c, main.c,
config.c, configref.c, log.c, buf.c, metrics.c, httpd.c) wire the
stages together and may include anything. A private header next to them
(src/*.h, such as pipeline_internal.h: the loop's state, shared by
pipeline.c and snapshot_run.c) is theirs alone: no stage includes it.

Every public header must be listed below: a new header is placed in a stage
here when it is added. Exits 1 and names each offending #include.

Usage: python3 tests/layers.py [repository root]
"""
import os
import re
import sys

ORDER = ["source", "model", "encode", "sink"]

# include/pgcdc/<name>.h -> the stage it belongs to ("shared": any stage may
# include it; "top": only the top-level wiring may).
HEADERS = {
    # shared vocabulary, belonging to no stage
    "lsn.h": "shared",
    "value.h": "shared",
    "type_info.h": "shared",
    "type_modes.h": "shared",
    "buf.h": "shared",
    "hex.h": "shared",
    "clock.h": "shared",
    "log.h": "shared",
    "error.h": "shared",
    "config.h": "shared",
    # source
    "stream.h": "source",
    "pgoutput.h": "source",
    "publication.h": "source",
    "catalog.h": "source",
    "pq.h": "source",
    "session.h": "source",
    "inspect.h": "source",
    "snapshot.h": "source",
    "window.h": "source",
    "incremental.h": "source",
    # model
    "relcache.h": "model",
    "change.h": "model",
    "txmeta.h": "model",
    "filter.h": "model",
    "topic.h": "model",
    "types.h": "model",
    # encode
    "encoder.h": "encode",
    "avro_encode.h": "encode",
    "avro_schema.h": "encode",
    "avro_canon.h": "encode",
    "registry.h": "encode",
    # sink
    "sink.h": "sink",
    "kafka_sink.h": "sink",
    "stdout_sink.h": "sink",
    # checkpoint
    "tracker.h": "checkpoint",
    "store.h": "checkpoint",
    "progress.h": "checkpoint",
    # wiring
    "pipeline.h": "top",
    "check.h": "top",
    "drop.h": "top",
    "configref.h": "top",
    "metrics.h": "top",
    "httpd.h": "top",
    "status.h": "top",
}

# The checkpoint code knows LSNs and nothing else (hex.h: digit values for
# parsing them).
CHECKPOINT_MAY_USE = {"lsn.h", "hex.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"pgcdc/([A-Za-z0-9_]+\.h)"', re.M)
# Any quoted include without the pgcdc/ prefix: a private header.
LOCAL_INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+\.h)"', re.M)


def stage_of_file(rel):
    """The stage of a source file, from where it lives."""
    parts = rel.split("/")
    if parts[0] == "src" and len(parts) == 3:
        return parts[1]
    if parts[0] == "src":
        return "top"
    return HEADERS.get(parts[-1], "unknown")


def allowed(stage, header, header_stage):
    if stage == "top":
        return True
    if stage == "checkpoint":
        return header_stage == "checkpoint" or header in CHECKPOINT_MAY_USE
    if header_stage == "shared":
        return True
    if stage == "shared":
        return False
    if header_stage in ("checkpoint", "top") or stage not in ORDER:
        return False
    return ORDER.index(header_stage) <= ORDER.index(stage)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = []
    files = []
    for top in ("src", "include/pgcdc"):
        for d, _, names in os.walk(os.path.join(root, top)):
            files += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    private = set()
    for n in os.listdir(os.path.join(root, "src")):
        if n.endswith(".h"):
            private.add(n)
    for path in sorted(files):
        rel = os.path.relpath(path, root)
        if rel.startswith("include/") and os.path.basename(rel) not in HEADERS:
            problems.append(f"{rel}: not placed in a stage in tests/layers.py")
            continue
        stage = stage_of_file(rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for header in LOCAL_INCLUDE.findall(text):
            if header in private and stage != "top":
                problems.append(
                    f"{rel} ({stage}) includes {header}, private to the top-level wiring")
        for header in INCLUDE.findall(text):
            hstage = HEADERS.get(header)
            if hstage is None:
                problems.append(f"{rel}: includes pgcdc/{header}, which is not placed in a stage")
            elif not allowed(stage, header, hstage):
                problems.append(
                    f"{rel} ({stage}) includes pgcdc/{header} ({hstage}): against the flow")
    for p in problems:
        print(p)
    print(f"layers: {len(files)} files checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
