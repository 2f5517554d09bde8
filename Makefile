# Aftercare: the two commands are `make run` and `make test`.
GO ?= go
GOTEST_FLAGS ?= -race -count=1 -timeout 30m

.PHONY: run test soak build vet bench deps fuzz clean

## run: start the whole product locally (private PostgreSQL, demo store, /dev/mail)
run:
	$(GO) run ./cmd/aftercare dev

## test: vet and run every test, installing what the tests need first
test: deps vet
	$(GO) test $(GOTEST_FLAGS) ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './var/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

## soak: the long reliability tests (two instances, load); not part of make test
soak: deps
	$(GO) test -race -count=1 -tags soak -run Soak -timeout 60m ./...

## build: a static binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/aftercare ./cmd/aftercare

## bench: the load benchmark of issue 8 (large store; several minutes, figures appended to
## BENCHMARKS.md), then the Go micro-benchmarks. BENCH_FLAGS='-size medium' for a quick run.
BENCH_FLAGS ?=
bench: deps
	$(GO) build -o var/bench/bin/bench ./cmd/bench
	var/bench/bin/bench $(BENCH_FLAGS)
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...

## deps: PostgreSQL and Chromium for the tests, via apt-get when missing (needs root)
deps:
	@scripts/test-deps.sh

clean:
	rm -rf bin
