"""`sweep query` reads the results and nothing else: no other file, no URL, no extension, no
setting changed; each refusal is one line with exit code 2."""

from __future__ import annotations

import pytest

from .cli_run import run
from .synth import write_sweep


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    write_sweep(root, mixes=("flat",), cpus=(8, 16), mems=(16 << 30,), seeds=2)
    return root


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT * FROM read_csv('https://example.com/x.csv')",
    "SELECT * FROM read_text('{root}/../../../etc/passwd')",
    "SELECT * FROM read_blob('/proc/self/environ')",
])
def test_a_query_cannot_read_outside_the_results(results, capsys, sql):
    code, out, err = run(["query", "--results", str(results), sql.format(root=results)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: query: ")
    assert "disabled by configuration" in err
    assert "root:" not in out


def test_a_query_can_still_read_its_own_results(results, capsys):
    code, out, _ = run(["query", "--results", str(results), "--format", "csv",
                        f"SELECT count(*) AS n FROM read_parquet('{results}/*/points/*.parquet')"],
                       capsys)
    assert code == 0 and out.splitlines()[1] == "8"


def test_no_setting_can_be_changed_from_a_query(results, capsys):
    code, _, err = run(["query", "--results", str(results),
                        "SET enable_external_access = true"], capsys)
    assert code == 2 and "only SELECT" in err
