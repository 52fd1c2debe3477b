"""Subject actions as motion statistics: how much of the frame moves, where, which way, how fast.

The camera's own motion is removed first (:func:`koala.motion.residual_flow`), so what is left is
things moving in the scene. Nothing is said about *what* moves: that would need recognition the
offline backend does not have.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from koala.config import MeasuredCaptionConfig


@dataclass(frozen=True)
class MotionStats:
    """Local (non-camera) motion of a clip, averaged over its sampled frame pairs."""

    area: float  # mean share of the frame that moves
    active: float  # share of pairs in which the moving area exceeds the minimum
    speed: float  # median speed of moving pixels, short sides per second
    centroid: tuple[float, float]  # (x, y) of the motion in 0-1 frame coordinates
    spread: tuple[float, float]  # std of the motion's x and y positions, 0-1
    direction: tuple[float, float]  # unit mean motion vector (x right, y down) or (0, 0)
    coherence: float  # |mean vector| / mean |vector|: 1 = everything moves one way


def motion_stats(residuals: list[np.ndarray], *, step: int, fps: float, cfg: MeasuredCaptionConfig) -> MotionStats:
    """Statistics of residual flows (each (H, W, 2), px per ``step`` frames at analysis size)."""
    if not residuals:
        return MotionStats(0.0, 0.0, 0.0, (0.5, 0.5), (0.0, 0.0), (0.0, 0.0), 0.0)
    h, w = residuals[0].shape[:2]
    to_rate = fps / step / min(h, w)  # px per step -> short sides per second
    heat = np.zeros((h, w))
    areas, speeds, vec_sum, len_sum = [], [], np.zeros(2), 0.0
    for res in residuals:
        mag = np.hypot(res[..., 0], res[..., 1]) * to_rate
        mask = mag > cfg.moving_min
        areas.append(float(mask.mean()))
        if mask.any():
            heat += mask
            speeds.append(mag[mask])
            vec_sum += res[mask].sum(axis=0) * to_rate
            len_sum += float(mag[mask].sum())
    areas_arr = np.asarray(areas)
    area = float(areas_arr.mean())
    active = float((areas_arr > cfg.moving_area_min).mean())
    speed = float(np.median(np.concatenate(speeds))) if speeds else 0.0
    if heat.sum() > 0:
        ys, xs = np.mgrid[0:h, 0:w]
        wgt = heat / heat.sum()
        cx, cy = float((wgt * xs).sum() / w), float((wgt * ys).sum() / h)
        sx = float(np.sqrt((wgt * (xs / w - cx) ** 2).sum()))
        sy = float(np.sqrt((wgt * (ys / h - cy) ** 2).sum()))
    else:
        cx, cy, sx, sy = 0.5, 0.5, 0.0, 0.0
    norm = float(np.hypot(*vec_sum))
    coherence = norm / len_sum if len_sum > 0 else 0.0
    direction = (float(vec_sum[0] / norm), float(vec_sum[1] / norm)) if norm > 0 else (0.0, 0.0)
    return MotionStats(area, active, speed, (cx, cy), (sx, sy), direction, coherence)


def region_words(x: float, y: float) -> str:
    """A 3x3 grid position in words ("in the centre", "in the upper left", "at the bottom")."""
    col = "left" if x < 1 / 3 else "right" if x > 2 / 3 else ""
    row = "upper" if y < 1 / 3 else "lower" if y > 2 / 3 else ""
    if not col and not row:
        return "in the centre"
    if not col:
        return {"upper": "at the top", "lower": "at the bottom"}[row]
    if not row:
        return f"on the {col}"
    return f"in the {row} {col}"


def direction_words(dx: float, dy: float) -> str:
    """The nearest of eight screen directions ("to the right", "upward and to the left", ...)."""
    angle = np.degrees(np.arctan2(-dy, dx)) % 360  # counter-clockwise from "right", y up
    names = ["to the right", "up and to the right", "upward", "up and to the left",
             "to the left", "down and to the left", "downward", "down and to the right"]
    return names[int(((angle + 22.5) % 360) // 45)]


def describe(stats: MotionStats, cfg: MeasuredCaptionConfig) -> str:
    """Actions in words; says that nothing moves when that is what was measured."""
    if stats.area < cfg.moving_area_min:
        return "Apart from any camera movement, nothing in the frame moves noticeably."
    share = round(100 * stats.area)
    amount = "A small part" if stats.area < 0.1 else "A large part" if stats.area > 0.4 else "Part"
    where = "across the whole frame" if max(stats.spread) > 0.27 else region_words(*stats.centroid)
    pace = "slowly" if stats.speed < 0.15 else "quickly" if stats.speed > 0.6 else "at a moderate pace"
    text = f"{amount} of the frame (about {share}%) is in motion {where}, moving {pace}"
    if stats.coherence >= cfg.direction_coherence:
        text += f", mostly {direction_words(*stats.direction)}"
    else:
        text += " in several directions"
    when = "throughout the clip" if stats.active >= 0.75 else "during part of the clip"
    return f"{text}, {when}."
