"""Getting the sample clips: mirror, verified reuse, damaged copies, and no source at all."""

import shutil
from pathlib import Path

import pytest

from koala.config import SamplesConfig
from koala.corpus.samples import SAMPLE_CLIPS, SamplesUnavailable, fetch_samples, labels_table

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "koala_tsa_samples"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"sample clips not found at {SHARED}")


def _cfg(tmp_path, **kw):
    return SamplesConfig(out_dir=str(tmp_path / "samples"), mirror_env="KOALA_TEST_MIRROR", **kw)


@needs_shared
def test_mirror_copies_and_verifies_every_clip(tmp_path):
    paths = fetch_samples(_cfg(tmp_path), env={"KOALA_TEST_MIRROR": str(SHARED)})
    assert sorted(p.name for p in paths) == sorted(c.name for c in SAMPLE_CLIPS)
    assert all(p.stat().st_size > 100_000 for p in paths)
    # A second call needs no source: the verified copies are reused.
    again = fetch_samples(_cfg(tmp_path, base_url="http://127.0.0.1:9/"), env={})
    assert again == paths


@needs_shared
def test_damaged_mirror_copy_is_refused(tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(SHARED, mirror)
    victim = mirror / SAMPLE_CLIPS[2].name
    victim.chmod(0o644)
    data = bytearray(victim.read_bytes())
    data[5000] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(SamplesUnavailable, match=f"{SAMPLE_CLIPS[2].name}.*damaged"):
        fetch_samples(_cfg(tmp_path), env={"KOALA_TEST_MIRROR": str(mirror)})


def test_no_network_and_no_mirror_says_what_to_do(tmp_path):
    cfg = _cfg(tmp_path, base_url="http://127.0.0.1:9/")  # nothing listens on port 9
    with pytest.raises(SamplesUnavailable) as err:
        fetch_samples(cfg, env={})
    msg = str(err.value)
    assert "KOALA_TEST_MIRROR" in msg and SAMPLE_CLIPS[0].name in msg and "download" in msg


def test_mirror_that_is_not_a_folder_is_reported(tmp_path):
    with pytest.raises(SamplesUnavailable, match="not a folder"):
        fetch_samples(_cfg(tmp_path), env={"KOALA_TEST_MIRROR": str(tmp_path / "nowhere")})


def test_incomplete_mirror_names_the_missing_clip(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    with pytest.raises(SamplesUnavailable, match="not in the mirror folder"):
        fetch_samples(_cfg(tmp_path), env={"KOALA_TEST_MIRROR": str(mirror)})


@needs_shared
def test_labels_and_checksums_match_the_shipped_files():
    shipped = dict(line.strip().split(",") for line in (SHARED / "labels_raw.txt").read_text().splitlines() if line.strip())
    labels = labels_table()
    assert {f"{v}.mp4": l for v, l in zip(labels["video_id"], labels["vtss_label"])} == {k: float(v) for k, v in shipped.items()}
    sums = dict(reversed(line.split()) for line in (SHARED / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert {c.name: c.sha256 for c in SAMPLE_CLIPS} == sums
