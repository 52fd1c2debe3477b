# The README's two commands: `make repro` (whole pipeline) and `make test` (the tests).
# Each creates .venv and installs koala with its pinned dependencies when needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.koala-installed

# Offline source of the five sample clips when the shared folder sits beside the repo.
SHARED_SAMPLES := $(abspath ../shared/data/koala_tsa_samples)
ifneq ($(wildcard $(SHARED_SAMPLES)/SHA256SUMS),)
export KOALA_SAMPLES_MIRROR ?= $(SHARED_SAMPLES)
endif
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup repro test ci-repro report clean-cache

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "koala needs Python 3.11, found " + sys.version.split()[0]'
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's python3-venv (needed for a virtual environment)"; \
	    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "koala: cannot create a virtual environment; install python3-venv (Debian: sudo apt-get install python3-venv)"; exit 1; fi; }
	$(BIN)/pip install --quiet -e ".[dev]"
# The OCR text detector (score stage): its wheel ships PP-OCRv4 models but requires opencv-python,
# which would clash with our headless OpenCV; its other dependencies are pinned in pyproject.toml.
	$(BIN)/pip install --quiet --no-deps rapidocr-onnxruntime==1.4.4
# The captions' person detector: BlazePose's model, taken out of the mediapipe 0.10.14 wheel (PyPI),
# and Objectron's SSD out of the npm package @mediapipe/objectron (skipped with a warning without npm).
	$(BIN)/python -m koala.caption.people data/models/pose_detection.tflite
	@touch $(STAMP)

repro: setup
	dvc repro

# Best effort, as .ci/run does: Debian's chromium lets the browser tests open the reports for real
# (as root with apt-get; otherwise they skip and say why).
test: setup
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { echo "installing Debian's chromium for the browser tests"; \
	    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed; the browser tests will skip"; }; } || true
	$(BIN)/pytest

# CI: the same notebooks on a small configuration: ci/params-ci.yaml goes to params.override.yaml,
# laid over params.yaml (which stays as committed); `koala params clear` returns to params.yaml alone.
ci-repro: setup
	$(BIN)/koala params apply ci/params-ci.yaml
	dvc repro
	@ls -l reports/*.html

report: setup
	$(BIN)/koala report

clean-cache:
	rm -rf data/cache
