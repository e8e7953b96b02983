# tenpc — run 'make help' for the targets.
SHELL := /bin/bash
GO    ?= go
# OpenBLAS (through gonum's netlib, cgo) is used when Debian's libopenblas-dev is
# installed; otherwise gonum's pure-Go BLAS. Force one with BLAS=openblas|gonum.
# Looked up when a recipe runs (recursive variables, ls rather than make's cached
# wildcard), so that a build after setup's apt-get install sees the library.
BLAS  ?= $(if $(shell ls /usr/lib/*/libopenblas.so /usr/lib/libopenblas.so /usr/local/lib/libopenblas.so 2>/dev/null),openblas,gonum)
TAGS   = $(if $(filter openblas,$(BLAS)),openblas,)
GOTAGS = $(if $(TAGS),-tags $(TAGS),)
BIN   := bin/tenpc
# Packages checked with the race detector (-race -short). Measured on the
# 2-core machine: data 4 s, optim 4 s, nn 7 s, circuit/kernel 14 s, circuit 59 s
# (wall time, build included). `make test` runs the quick ones; circuit's
# minute is left to `make test-race` (see docs/RELIABILITY.md).
RACE_QUICK := ./data ./optim ./nn/... ./circuit/kernel
RACE_ALL   := $(RACE_QUICK) ./circuit
# Where Debian's python3-sklearn puts scikit-learn's bundled tables (experiments.SklearnDataDir).
SKLEARN_DATA := /usr/lib/python3/dist-packages/sklearn/datasets/data
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo 1)

.PHONY: help setup build test test-short test-race test-standalone bench lint fmt train

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install what tenpc needs: Go modules (MNIST ships in one); as root also Debian's libopenblas-dev and dataset-fashion-mnist
ifeq ($(IS_ROOT),1)
	@need=""; \
	ls /usr/lib/*/libopenblas.so >/dev/null 2>&1 || need="$$need libopenblas-dev"; \
	[ -d /usr/share/datasets/fashion-mnist ] || need="$$need dataset-fashion-mnist"; \
	if [ -n "$$need" ]; then \
		echo "setup: apt-get install$$need"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	fi
else
	@echo "setup: not root, skipped apt-get install libopenblas-dev dataset-fashion-mnist (tenpc falls back to pure-Go BLAS; Fashion-MNIST needs -data-dir)"
endif
	$(GO) mod download
	@echo "setup: done"

build: setup ## build bin/tenpc with the BLAS found by setup
	$(GO) build $(GOTAGS) -o $(BIN) ./cmd/tenpc
	@$(BIN) version

test: setup ## run every test (detected BLAS and C kernels; the pure-Go kernels; quick race checks; the short suite on a lone copy of the tree)
	$(GO) vet $(GOTAGS) ./...
	$(GO) vet -tags purego ./internal/vec ./nn/... ./circuit/kernel
	$(GO) test $(GOTAGS) -count=1 ./...
	$(GO) test -tags purego -count=1 ./internal/vec ./nn/... ./circuit/kernel ./optim
	$(GO) test $(GOTAGS) -race -short -count=1 $(RACE_QUICK)
	@if command -v clang >/dev/null; then echo "CC=clang go test ./internal/vec"; CC=clang $(GO) test -count=1 ./internal/vec; else echo "clang not installed: the C kernels' clang build is not checked"; fi
	GO=$(GO) GOTAGS="$(GOTAGS)" ./.ci/standalone-test

test-standalone: ## run the short suite on a copy of the tree alone in an empty folder (catches reads outside the repository)
	GO=$(GO) GOTAGS="$(GOTAGS)" ./.ci/standalone-test

test-race: ## run the race detector (-short) over nn, circuit, data and optim (about 1.5 min on 2 cores)
	$(GO) test $(GOTAGS) -race -short -count=1 $(RACE_ALL)

test-short: ## run the tests in -short mode (skips the long cases)
	$(GO) test $(GOTAGS) -short -count=1 ./...

bench: setup ## run the Go benchmarks of the hot paths
	$(GO) test $(GOTAGS) -run '^$$' -bench . -benchmem ./...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GOTAGS) ./...

train: build ## run the main job: QG-CP K=16 on MNIST, `tenpc recipe run mnist-default` (≤ 10 min on 2 cores; -force via TRAIN_FLAGS=-force)
	$(BIN) recipe run mnist-default $(TRAIN_FLAGS)

.PHONY: tabular-data
tabular-data: ## install the tables of `tenpc recipe run tabular` (scikit-learn's diabetes and wine, from Debian's python3-sklearn; as root)
ifeq ($(IS_ROOT),1)
	@if [ -f $(SKLEARN_DATA)/diabetes_data_raw.csv.gz ]; then echo "tabular-data: $(SKLEARN_DATA) is there"; else \
		echo "tabular-data: apt-get install python3-sklearn"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-sklearn >/dev/null; fi
else
	@echo "tabular-data: not root; as root run apt-get install python3-sklearn, or give the recipe -data-dir DIR holding diabetes_data_raw.csv.gz and wine_data.csv"
endif

.PHONY: bench-peers
bench-peers: build ## time tenpc and the PyTorch peers (cirkit, Einsum Networks) side by side (bench/peers; see bench/peers/README.md)
	TENPC=$(BIN) ./bench/bench-peers.sh
