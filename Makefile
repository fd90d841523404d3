# d2l-fcn: two commands do everything on a fresh machine.
#   make lab    set up .venv if needed, then open the course in JupyterLab
#   make test   set up .venv if needed, then run every test (quick profile)
#   (make test-fast: lint and the unit tests only, under a minute)
# Options: PYTHON=python3.11 (the interpreter for .venv), GPU=cu112 (CUDA 11.2
# build of MXNet), PORT=8888, LAB_ARGS="--no-browser ..." (extra JupyterLab flags),
# BOOK_DIR=_build/book (make book), STUDENT_DIR=student (make student),
# TEST_JOBS=2 (make test: processes that share the tests, a notebook per process).

SHELL := /bin/bash
VENV ?= .venv
PORT ?= 8888
LAB_ARGS ?=
PYTEST_ARGS ?=
TEST_JOBS ?= 2
GPU ?=
# The first of these on PATH; MXNet 1.9.1 and the pinned set need 3.10 or 3.11.
PYTHON ?= $(firstword $(foreach p,python3.11 python3.10 python3,\
                       $(if $(shell command -v $(p) 2>/dev/null),$(p))))

ifeq ($(GPU),)
  EXTRA := cpu
else ifeq ($(GPU),cu112)
  EXTRA := cu112
else
  $(error GPU=$(GPU) is not a known build: use GPU=cu112 (CUDA 11.2, GPUs of compute capability 5.0 to 8.9) or leave GPU out for the CPU)
endif

STAMP := $(VENV)/.d2lfcn-installed-$(EXTRA)
VPY := $(VENV)/bin/python
# Prints nothing and exits 0 for a usable interpreter, else says what to do.
CHECK_PYTHON := import sys; v = sys.version_info[:2]; \
  sys.exit(0 if (3, 10) <= v <= (3, 11) else \
  'd2l-fcn needs Python 3.10 or 3.11, but %s is Python %d.%d: MXNet 1.9.1, its last release, does not import on 3.12 or newer, and the pinned packages need 3.10 or newer. Point make at a supported interpreter, e.g. make lab PYTHON=python3.11 (pyenv install 3.11, or conda create -n py311 python=3.11).' % (sys.executable, *v))

.PHONY: lab test test-fast setup lock help book student sync

help:
	@sed -n '2,8p' Makefile | sed 's/^# \{0,1\}//'

setup: $(STAMP)

$(VPY):
	@if [ -z "$(PYTHON)" ] || ! $(PYTHON) -c "" 2>/dev/null; then echo "No working Python interpreter '$(PYTHON)'. Install Python 3.11 (or 3.10) and run, e.g.: make lab PYTHON=python3.11" >&2; exit 1; fi
	@$(PYTHON) -c "$(CHECK_PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VPY) constraints.txt requirements.txt pyproject.toml
	@$(VPY) -c "$(CHECK_PYTHON)" || { echo "$(VENV) was made with an unsupported Python; move it away (mv $(VENV) $(VENV).old) and run make again." >&2; exit 1; }
	@# The CPU and CUDA builds install the same module: keep only the one asked for.
	@$(VPY) -m pip uninstall -y -q $(if $(filter cpu,$(EXTRA)),mxnet-cu112,mxnet) 2>/dev/null || true
	$(VPY) -m pip install -q --disable-pip-version-check \
	    -c constraints.txt -r requirements.txt -e ".[$(EXTRA)]"
	@# d2l 1.0.3, the book's reference code, for the benchmarks' reference
	@# side only; its own pins are older than ours, so without them.
	$(VPY) -m pip install -q --disable-pip-version-check --no-deps d2l==1.0.3
	@rm -f $(VENV)/.d2lfcn-installed-*
	@touch $@

# Jupyter refuses to run as root (containers, CI) unless told it may.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --port=$(PORT) \
	    $(ROOT_FLAG) $(LAB_ARGS)

# The tests get a fresh, temporary data folder (D2LFCN_DATA), so that they
# never reuse a dataset or resume a checkpoint that an earlier run left.
# Each of the TEST_JOBS processes computes with its share of the cores
# (OMP_NUM_THREADS, unless set), so that their threads do not fight.
# `make test` lints, then runs every test and every notebook (nbval);
# `make test-fast` lints and runs the tests not marked slow (no notebooks).
LINT := $(VPY) -m ruff check d2lfcn tests tools bench notebooks
PYTEST := data=$$(mktemp -d -t d2lfcn-test-data.XXXXXX) && trap 'rm -rf "$$data"' EXIT && \
	cores=$$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1) && \
	threads=$${OMP_NUM_THREADS:-$$(( cores / $(TEST_JOBS) > 0 ? cores / $(TEST_JOBS) : 1 ))} && \
	OMP_NUM_THREADS=$$threads \
	D2LFCN_DATA="$$data" D2LFCN_QUICK=1 $(VPY) -m pytest -p no:cacheprovider -n $(TEST_JOBS)

test: $(STAMP)
	$(LINT)
	@$(PYTEST) --nbval-lax --nbval-current-env --nbval-cell-timeout=900 --dist loadfile \
	    tests notebooks $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(LINT)
	@$(PYTEST) -m "not slow" tests $(PYTEST_ARGS)

# Re-pin constraints.txt from requirements.txt in a throw-away environment.
lock:
	@$(PYTHON) -c "$(CHECK_PYTHON)"
	rm -rf /tmp/d2lfcn-lock && $(PYTHON) -m venv /tmp/d2lfcn-lock
	/tmp/d2lfcn-lock/bin/python -m pip install -q -r requirements.txt mxnet==1.9.1
	{ sed -n '1,/^# Regenerate/p' constraints.txt; \
	  /tmp/d2lfcn-lock/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

# The course website (Jupyter Book 1.x) from the notebooks' stored outputs, no
# execution, no network; fails on any warning. Opens at $(BOOK_DIR)/html/index.html.
BOOK_DIR ?= _build/book
book: $(STAMP)
	$(VPY) tools/build_book.py $(BOOK_DIR)

# The student edition: exercise bodies and written answers taken out.
STUDENT_DIR ?= student
student: $(STAMP)
	$(VPY) tools/make_student.py notebooks $(STUDENT_DIR)

# Copy the code the notebooks teach (cells "# Kept in d2lfcn/...") into the
# package: the notebooks are the master copy (CONTRIBUTING.md).
sync: $(STAMP)
	$(VPY) tools/sync_code.py
