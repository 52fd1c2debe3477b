"""The packaged default VTSS model: used when the pipeline has not trained one, refreshed by `koala vtss ship`."""

from pathlib import Path

import pytest

from koala.config import VtssConfig
from koala.vtss import packaged


def test_the_trained_model_wins_then_the_packaged_one_then_none(tmp_path, monkeypatch):
    trained, shipped = tmp_path / "tsa.pt", tmp_path / "pkg" / "default.pt"
    monkeypatch.setenv("KOALA_VTSS_PACKAGED_MODEL", str(shipped))
    cfg = VtssConfig(model_path=str(trained))
    assert packaged.trained_model(cfg) is None
    shipped.parent.mkdir()
    shipped.write_bytes(b"packaged")
    assert packaged.trained_model(cfg) == shipped
    trained.write_bytes(b"trained")
    assert packaged.trained_model(cfg) == trained
    trained.unlink()
    monkeypatch.setenv("KOALA_VTSS_PACKAGED_MODEL", "")  # none, as the rest of the suite runs
    assert packaged.trained_model(cfg) is None


def test_ship_copies_the_trained_model_and_says_what_is_missing(tmp_path):
    cfg = VtssConfig(model_path=str(tmp_path / "tsa.pt"))
    with pytest.raises(FileNotFoundError, match="no trained VTSS model to ship"):
        packaged.ship(cfg, tmp_path / "out.pt")
    Path(cfg.model_path).write_bytes(b"weights")
    assert packaged.ship(cfg, tmp_path / "models" / "out.pt").read_bytes() == b"weights"
