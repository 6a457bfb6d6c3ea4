# Kash engine. `make run` starts the server with its embedded defaults;
# `make test` runs every check CI runs. Both install what they need.

GO       ?= go
PKGS     ?= ./...
export KASH_DATA_DIR ?= $(CURDIR)/.kash

.PHONY: run test lint bench deps postgres prometheus build fuzz

## run: the server with a local Postgres and the built-in provider simulator
run: postgres
	$(GO) run ./cmd/kashd

## test: formatting, vet, staticcheck and every test with the race detector against a real Postgres
test: deps lint
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## lint: gofmt (fails on unformatted files), go vet and staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.kash/*') </dev/null); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)

## bench: the short default bench suite, with its report
bench: postgres
	$(GO) run ./cmd/kashbench

## build: all binaries into ./bin
build:
	$(GO) build -o bin/ ./cmd/...

## deps: everything the tests need that is not a Go module
deps: postgres prometheus

## postgres: make sure the PostgreSQL server binaries are installed
postgres:
	@bash .ci/ensure-postgres

## prometheus: make sure promtool and the Prometheus server are installed (metrics tests; no service is started)
prometheus:
	@bash .ci/ensure-prometheus
