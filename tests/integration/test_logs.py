"""Logs for machines: with log.format = json (or --log-format json) every
line pgcdc writes on stderr is one JSON object with the documented members,
through start-up, streaming, a relation and its change, and a stop."""
import json
import re
import subprocess

from conftest import PGCDC_BIN, sql

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def json_lines(text):
    """Every line of text parsed as a JSON object, with the documented
    members of every line."""
    assert text.endswith("\n"), repr(text[-200:])
    out = []
    for line in text.splitlines():
        obj = json.loads(line)  # raises on any line that is not JSON
        assert isinstance(obj, dict), line
        assert list(obj)[:4] == ["ts", "level", "pid", "msg"], line
        assert TS.match(obj["ts"]), line
        assert obj["level"] in ("error", "warn", "info", "debug"), line
        assert isinstance(obj["pid"], int), line
        assert all(isinstance(v, str) for k, v in obj.items() if k != "pid"), line
        out.append(obj)
    return out


def test_every_stderr_line_of_a_run_is_json(db, pgcdc, table):
    t = table("id int PRIMARY KEY, v text")
    p = pgcdc(log_format="json", table_include_list=f"public.{t}")
    p.start()
    sql(db, f'INSERT INTO "{t}" VALUES (1, %s)', 'a "quoted" \\ value\nwith a line break')
    sql(db, f'UPDATE "{t}" SET v = \'x\' WHERE id = 1')
    sql(db, f'ALTER TABLE "{t}" ADD COLUMN w int')
    sql(db, f'INSERT INTO "{t}" VALUES (2, \'y\', 3)')
    p.events(3)
    assert p.stop() == 0
    lines = json_lines(p.stderr())
    assert len(lines) > 5
    streaming = [l for l in lines if l["msg"].startswith("streaming from slot")]
    assert len(streaming) == 1, lines
    assert streaming[0]["slot"] == p.name
    assert re.match(r"^[0-9A-F]+/[0-9A-F]+$", streaming[0]["lsn"]), streaming[0]
    tables = [l for l in lines if l.get("table") == f"public.{t}"]
    assert len(tables) >= 2, lines  # the relation, then its new shape
    assert all(l["topic"] == f"{p.name}.public.{t}" for l in tables if "topic" in l)
    assert any(l["level"] == "debug" for l in lines)


def test_log_format_flag_makes_configuration_errors_json(tmp_path):
    conf = tmp_path / "pgcdc.conf"
    conf.write_text("topic.prefix = x\nsink = stdout\nformat = json\nslot.name = Bad-Name\n")
    r = subprocess.run([PGCDC_BIN, "run", "-c", str(conf), "--log-format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 78, r.stderr
    [line] = json_lines(r.stderr)
    assert line["level"] == "error"
    assert "invalid value 'Bad-Name' for 'slot.name'" in line["msg"], line

    r = subprocess.run([PGCDC_BIN, "run", "-c", str(conf), "--log-format", "xml"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "--log-format: expected text or json, not 'xml'" in r.stderr


def test_text_stays_the_default(tmp_path):
    conf = tmp_path / "pgcdc.conf"
    conf.write_text("topic.prefix = x\nsink = stdout\nformat = json\nslot.name = Bad-Name\n")
    r = subprocess.run([PGCDC_BIN, "run", "-c", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 78
    assert r.stderr.startswith("pgcdc: "), r.stderr
