# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# torch and torchvision are installed first, pinned as a pair that imports together (the
# package's own ranges are then already satisfied and pip pulls nothing else). torchvision
# (image folders, backbones) does not import against the CPU-only torch 2.13.0 wheel, so the
# pin is the 2.14.1 build, which also runs on CUDA; see README, "Two commands".
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
# The Keras backend matrix gets its own environment, so that JAX and TensorFlow never change
# what the main suite runs against; the CPU-only torch wheel (no torchvision needed there)
# keeps it at 3 GB instead of 8.
KERAS_VENV := .venv-keras
KERAS_STAMP := $(KERAS_VENV)/.installed-stamp
KERAS_TORCH_PIN := torch==2.13.0
KERAS_BACKENDS := torch jax tensorflow

.PHONY: demo test test-fast test-keras-backends lint format bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,export,keras,vision,timm,tracking,tune]'
	touch $(STAMP)

$(KERAS_STAMP): pyproject.toml Makefile
	test -x $(KERAS_VENV)/bin/python || $(PYTHON) -m venv $(KERAS_VENV)
	$(KERAS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(KERAS_TORCH_PIN)
	$(KERAS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[keras-backends]' 'pytest>=8'
	touch $(KERAS_STAMP)

demo: $(STAMP)
	$(BIN)/python examples/moons_demo.py

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory test-keras-backends

# tests/test_keras.py once per Keras backend, each in a fresh process (Keras fixes its backend
# at its first import).
test-keras-backends: $(KERAS_STAMP)
	@for backend in $(KERAS_BACKENDS); do \
		echo "Keras backend: $$backend"; \
		KERAS_BACKEND=$$backend $(KERAS_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_keras.py || exit 1; \
	done

# The developer's loop: everything but the tests marked slow (accuracy checks on seeded runs,
# the two-process DDP run); `make test`, which CI runs, includes them.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow"

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/grl.py
	$(BIN)/python benchmarks/step_overhead.py --steps 150 --rounds 5
	$(BIN)/python benchmarks/moons.py --seeds 10
	$(BIN)/python benchmarks/amazon.py --data-dir ../shared/data/amazon_dann_5000 --seeds 5

clean:
	rm -rf $(VENV) $(KERAS_VENV) build src/*.egg-info .pytest_cache .ruff_cache
