"""The per-sweep index: compacts only what is new, forgets deleted points, heals overlaps
(two compactions at once), and never shows a row twice."""

import duckdb

from sweep import compact
from sweep.compact import ensure_index

from .synth import write_sweep


def rows(segments):
    return duckdb.sql(f"select point_id from read_parquet({segments!r}, union_by_name = true)"
                      ).fetchall()


def test_index_is_incremental_and_follows_the_files(tmp_path, monkeypatch):
    monkeypatch.setattr(compact, "SEGMENT_POINTS", 50)
    written = write_sweep(tmp_path, mixes=("a",), cpus=(8, 16), mems=(1 << 30,), seeds=30)
    first = ensure_index(str(tmp_path), "synthetic", "points")
    assert len(first) == 3  # 120 points in segments of 50
    got = sorted(r[0] for r in rows(first))
    assert got == sorted(r["point_id"] for r in written)
    assert ensure_index(str(tmp_path), "synthetic", "points") == first  # nothing new: no work

    more = write_sweep(tmp_path, mixes=("b",), cpus=(8,), mems=(1 << 30,), seeds=5)
    second = ensure_index(str(tmp_path), "synthetic", "points")
    assert set(first) < set(second) and len(second) == 4
    assert len(rows(second)) == len(written) + len(more)

    victim = next((tmp_path / "synthetic" / "points").glob("*.parquet"))
    victim.unlink()
    third = ensure_index(str(tmp_path), "synthetic", "points")
    ids = [r[0] for r in rows(third)]
    assert len(ids) == len(set(ids)) == len(written) + len(more) - 1
    assert victim.name.split(".")[1] not in ids


def test_overlapping_segments_are_healed(tmp_path, monkeypatch):
    write_sweep(tmp_path, mixes=("a",), cpus=(8,), mems=(1 << 30,), seeds=20)
    monkeypatch.setattr(compact, "SEGMENT_POINTS", 30)
    whole = ensure_index(str(tmp_path), "synthetic", "points")
    monkeypatch.setattr(compact, "SEGMENT_POINTS", 15)
    index_dir = tmp_path / "synthetic" / "index" / "points"
    # what a second process compacting at the same time in smaller chunks would leave
    names = (index_dir / (whole[0].rsplit("/", 1)[1][: -len(".parquet")] + ".names")
             ).read_text().splitlines()
    fs, base = compact._fs(str(tmp_path))
    compact._write_segment(str(tmp_path), fs, str(index_dir),
                           f"{base}/synthetic/points", names[:15])
    healed = ensure_index(str(tmp_path), "synthetic", "points")
    ids = [r[0] for r in rows(healed)]
    assert len(ids) == len(set(ids)) == 40
