"""Publications a user can trust: pgcdc changes only a publication it made
(and marked), reports how one it found differs from the filters, and never
makes the application's own UPDATE or DELETE fail by publishing a table
without a replica identity."""
import psycopg
import pytest

from conftest import by_topic, sql


def pub_tables(db, name):
    return sorted(r[0] for r in sql(
        db, "SELECT tablename FROM pg_publication_tables WHERE pubname = %s", name))


def test_publication_pgcdc_creates_is_marked(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    comment = sql(db, "SELECT obj_description(oid, 'pg_publication') FROM pg_publication "
                  "WHERE pubname = %s", p.name)[0][0]
    assert comment.startswith("managed by pgcdc")
    assert p.stop() == 0


def test_foreign_publication_is_left_as_it_is_and_reported(db, pgcdc, table):
    a = table("id int PRIMARY KEY")
    b = table("id int PRIMARY KEY")
    other = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.({a}|{b})")
    # Made by someone else, shared with another consumer: a table outside
    # the filters, one inside them missing, no publish_via_partition_root
    # (which does not matter while it publishes no partition).
    sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {a}, {other} '
        "WITH (publish_via_partition_root = false)")
    p.start()
    assert pub_tables(db, p.name) == sorted([a, other])
    assert sql(db, "SELECT pubviaroot FROM pg_publication WHERE pubname = %s",
               p.name) == [(False,)]
    err = p.stderr()
    assert "was not created by pgcdc, which never changes it" in err
    assert f'"public"."{b}"' in err and "ALTER PUBLICATION ... ADD TABLE" in err
    assert "publish_via_partition_root" not in err
    assert "updated publication" not in err
    # pgcdc streams what the publication publishes, inside the filters.
    sql(db, f"INSERT INTO {a} VALUES (1)")
    sql(db, f"INSERT INTO {other} VALUES (1)")
    sql(db, f"INSERT INTO {b} VALUES (1)")
    sql(db, f"INSERT INTO {a} VALUES (2)")
    ev = p.events(2)
    assert [e["key"]["id"] for e in by_topic(ev, f"{p.name}.public.{a}")] == [1, 2]
    assert not by_topic(p.lines(), f"{p.name}.public.{b}")
    assert p.stop() == 0
    # Restarting does not change it either.
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=2)
    assert pub_tables(db, p.name) == sorted([a, other])
    assert p.stop() == 0


def test_foreign_publication_of_partitions_under_their_own_names_is_reported(db, pgcdc, table):
    m = table("id int PRIMARY KEY) PARTITION BY RANGE (id")
    sql(db, f"CREATE TABLE {m}_p1 PARTITION OF {m} FOR VALUES FROM (0) TO (100)")
    p = pgcdc(table_include_list=f"public\\.{m}")
    sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {m} '
        "WITH (publish_via_partition_root = false)")
    p.start()
    err = p.stderr()
    assert "under the partitions' names" in err
    assert "SET (publish_via_partition_root = true)" in err
    assert p.stop() == 0


def test_foreign_publication_handed_over_with_the_mark_is_managed(db, pgcdc, table):
    a = table("id int PRIMARY KEY")
    b = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.({a}|{b})")
    sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {a}')
    sql(db, f"COMMENT ON PUBLICATION \"{p.name}\" IS 'managed by pgcdc'")
    p.start()
    assert pub_tables(db, p.name) == sorted([a, b])
    assert "updated publication" in p.stderr()
    assert p.stop() == 0


def test_table_without_primary_key_is_left_out_and_the_application_still_updates(
        db, pgcdc, table):
    keyless = table("a int, b text")
    keyed = table("id int PRIMARY KEY, v text")
    sql(db, f"INSERT INTO {keyless} VALUES (1, 'x')")
    p = pgcdc(table_include_list=f"public\\.({keyless}|{keyed})").start()
    # The application's own statements keep working.
    sql(db, f"UPDATE {keyless} SET b = 'y' WHERE a = 1")
    sql(db, f"DELETE FROM {keyless} WHERE a = 1")
    assert pub_tables(db, p.name) == [keyed]
    err = p.stderr()
    assert f'table "public"."{keyless}" has no primary key or replica identity' in err
    assert f'ALTER TABLE "public"."{keyless}" REPLICA IDENTITY FULL' in err
    sql(db, f"INSERT INTO {keyed} VALUES (1, 'a')")
    assert by_topic(p.events(1), f"{p.name}.public.{keyed}")
    assert p.stop() == 0
    # Given a replica identity, the table is published at the next start.
    sql(db, f"ALTER TABLE {keyless} REPLICA IDENTITY FULL")
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=2)
    assert pub_tables(db, p.name) == sorted([keyless, keyed])
    sql(db, f"INSERT INTO {keyless} VALUES (2, 'z')")
    sql(db, f"UPDATE {keyless} SET b = 'w' WHERE a = 2")
    ev = by_topic(p.events(3), f"{p.name}.public.{keyless}")
    assert [e["value"]["op"] for e in ev] == ["c", "u"]
    assert p.stop() == 0


def test_keyless_tables_are_published_when_the_user_opts_in(db, pgcdc, table):
    keyless = table("a int, b text")
    p = pgcdc(table_include_list=f"public\\.{keyless}", publication_keyless_tables="include")
    p.start()
    assert pub_tables(db, p.name) == [keyless]
    # What the user opted into: PostgreSQL refuses the UPDATE.
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
        sql(db, f"UPDATE {keyless} SET b = 'y'")
    sql(db, f"INSERT INTO {keyless} VALUES (1, 'x')")
    assert by_topic(p.events(1), f"{p.name}.public.{keyless}")
    assert p.stop() == 0


def test_message_key_columns_key_a_table_without_primary_key(db, pgcdc, table):
    t = table("code text NOT NULL, site int NOT NULL, v text")
    sql(db, f"ALTER TABLE {t} REPLICA IDENTITY FULL")
    keyed = table("id int PRIMARY KEY, ext text")
    p = pgcdc(table_include_list=f"public\\.({t}|{keyed})",
              message_key_columns=f"public\\.{t}:code,SITE;public\\.{keyed}:ext").start()
    sql(db, f"INSERT INTO {t} VALUES ('a', 1, 'x')")
    sql(db, f"UPDATE {t} SET v = 'y' WHERE code = 'a'")
    sql(db, f"DELETE FROM {t} WHERE code = 'a'")
    sql(db, f"INSERT INTO {keyed} VALUES (1, 'e1')")
    ev = p.events(5)
    ev_t = by_topic(ev, f"{p.name}.public.{t}")
    assert [e["key"] for e in ev_t] == [{"code": "a", "site": 1}] * 4
    assert [e["value"] and e["value"]["op"] for e in ev_t] == ["c", "u", "d", None]
    # A table with a primary key takes the columns named instead.
    assert [e["key"] for e in by_topic(ev, f"{p.name}.public.{keyed}")] == [{"ext": "e1"}]
    assert p.stop() == 0


def pub_columns(db, name):
    return {r[0]: r[1] for r in sql(
        db, "SELECT tablename, attnames FROM pg_publication_tables WHERE pubname = %s", name)}


def has_list(db, name, table):
    return sql(db, "SELECT pr.prattrs IS NOT NULL FROM pg_publication_rel pr "
               "JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = %s "
               "AND pr.prrelid = %s::regclass", name, table)[0][0]


def test_column_filters_become_column_lists_on_request(db, pgcdc, table):
    if db.info.server_version < 150000:
        pytest.skip("column lists need PostgreSQL 15")
    t = table("id int PRIMARY KEY, a text, secret text")
    full = table("id int PRIMARY KEY, b text, secret text")
    sql(db, f"ALTER TABLE {full} REPLICA IDENTITY FULL")
    only_a = table("id int PRIMARY KEY, a text, b text")
    p = pgcdc(table_include_list=f"public\\.({t}|{full}|{only_a})",
              column_exclude_list=f"public\\.({t}|{full})\\.secret,public\\.{only_a}\\.(id|b)",
              publication_column_lists="true")
    p.start()
    cols = pub_columns(db, p.name)
    # The excluded column never leaves the server.
    assert cols[t] == ["id", "a"]
    # The replica identity stays in: PostgreSQL needs it, and so does the key.
    assert cols[only_a] == ["id", "a"]
    # REPLICA IDENTITY FULL needs every column: no list, filtered in pgcdc.
    assert not has_list(db, p.name, full)
    assert "needs every column the column filters leave out" in p.stderr()
    # The application's writes work on all three.
    for x in (t, full, only_a):
        sql(db, f"INSERT INTO {x} (id) VALUES (1)")
    sql(db, f"UPDATE {t} SET a = 'x', secret = 's' WHERE id = 1")
    sql(db, f"UPDATE {full} SET b = 'y', secret = 's' WHERE id = 1")
    sql(db, f"UPDATE {only_a} SET a = 'z', b = 'w' WHERE id = 1")
    sql(db, f"DELETE FROM {only_a} WHERE id = 1")
    ev = p.events(8)
    after_t = [e["value"]["after"] for e in by_topic(ev, f"{p.name}.public.{t}")]
    assert after_t == [{"id": 1, "a": None}, {"id": 1, "a": "x"}]
    after_full = [e["value"]["after"] for e in by_topic(ev, f"{p.name}.public.{full}")]
    assert after_full == [{"id": 1, "b": None}, {"id": 1, "b": "y"}]
    ev_a = by_topic(ev, f"{p.name}.public.{only_a}")
    assert [e["key"] for e in ev_a] == [{"id": 1}] * 4
    assert [e["value"] and e["value"]["after"] for e in ev_a[:2]] == [{"a": None}, {"a": "z"}]
    assert p.stop() == 0
    # Turned off, the lists go at the next start.
    p.cfg["publication.column.lists"] = "false"
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=2)
    assert not has_list(db, p.name, t) and not has_list(db, p.name, only_a)
    assert p.stop() == 0
