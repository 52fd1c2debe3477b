"""Corpus stage helpers."""

def test_prune_removes_only_files_this_run_did_not_make(tmp_path):
    from koala.corpus.stage import prune

    for name in ("bench_000.mp4", "bench_001.mp4", "notes.txt"):
        (tmp_path / name).write_text("x")
    gone = prune(tmp_path, keep={str(tmp_path / "bench_000.mp4")}, pattern="*.mp4")
    assert [p.name for p in gone] == ["bench_001.mp4"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench_000.mp4", "notes.txt"]
