"""Input specs: samples, folders, globs, list files, plain paths; order, duplicates, chunks."""

from __future__ import annotations

import pytest

from koala.config import Params
from koala.curate.inputs import InputError, chunks, iter_inputs


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "f" / "sub").mkdir(parents=True)
    for name in ("f/b.mp4", "f/a.MKV", "f/sub/c.mov", "f/notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_a_folder_gives_its_videos_recursively_sorted(tree):
    got = list(iter_inputs([str(tree / "f")], Params()))
    assert [p.removeprefix(str(tree / "f") + "/") for p in got] == ["a.MKV", "b.mp4", "sub/c.mov"]


def test_a_glob_and_a_list_file_with_relative_paths_comments_and_duplicates(tree):
    listing = tree / "f" / "videos.txt"
    listing.write_text("# mine\nb.mp4\n\nsub/c.mov\n" + str(tree / "f" / "b.mp4") + "\nmissing.mp4\n")
    got = list(iter_inputs([str(tree / "f" / "*.mp4"), str(listing)], Params()))
    assert got == [str(tree / "f" / "b.mp4"), str(tree / "f" / "sub" / "c.mov"), str(tree / "f" / "missing.mp4")]


def test_a_missing_path_is_kept_for_the_errors_table(tmp_path):
    assert list(iter_inputs([str(tmp_path / "nope.mp4")], Params())) == [str(tmp_path / "nope.mp4")]


def test_empty_folder_and_unmatched_glob_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no video files"):
        list(iter_inputs([str(tmp_path)], Params()))
    with pytest.raises(InputError, match="matches no files"):
        list(iter_inputs([str(tmp_path / "*.mp4")], Params()))


def test_samples_come_from_the_mirror_when_the_corpus_stage_has_not_run(tree, monkeypatch):
    monkeypatch.setenv("KOALA_SAMPLES_MIRROR", str(tree / "f" / "sub"))
    monkeypatch.chdir(tree)  # no data/samples here
    assert list(iter_inputs(["samples"], Params())) == [str(tree / "f" / "sub" / "c.mov")]
    monkeypatch.delenv("KOALA_SAMPLES_MIRROR")
    with pytest.raises(InputError, match="no sample clips"):
        list(iter_inputs(["samples"], Params()))


def test_chunks_stream_the_paths():
    assert list(chunks(iter(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks(iter([]), 3)) == []
