"""Issue #17: the store's schema version is checked on read. A store whose point files say a
layout this pcp-sweep does not know is one line and exit 2 for every reader, not a wrong
answer; the version this pcp-sweep writes is accepted."""

import pyarrow.parquet as pq

from sweep import store

from .cli_run import run
from .tiny import tiny_scenario


def _restamp(path, version):
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta[b"schema_version"] = version.encode()
    pq.write_table(table.replace_schema_metadata(meta), path)


def test_a_store_of_an_unknown_schema_is_one_line(tmp_path, capsys):
    scen, _ = tiny_scenario(tmp_path, policies=("upstream",))
    results = str(tmp_path / "results")
    code, _, err = run(["run", str(scen), "--results", results, "--executor", "serial"], capsys)
    assert code == 0, err
    files = sorted((tmp_path / "results" / "tiny" / "points").glob("*.parquet"))
    assert pq.read_schema(files[0]).metadata[b"schema_version"] == str(
        store.SCHEMA_VERSION).encode()
    code, out, err = run(["query", "--results", results, "SELECT count(*) FROM points"],
                         capsys)
    assert code == 0 and "2" in out, err
    for f in files:
        _restamp(f, "99")
    for argv in (["query", "--results", results, "SELECT count(*) FROM points"],
                 ["index", "--results", results]):
        code, out, err = run(argv, capsys)
        assert code == 2, (argv, out, err)
        assert len(err.strip().splitlines()) == 1 and "store schema 99" in err, err
