# Operator contract (SPEC §12): `make build` writes bin/app, `make run` runs it with no
# configuration (embedded database and broker), `make test` runs the whole suite.

GO        ?= go
BIN       ?= bin/app
MAIN_PKG  ?= ./app/cmd/atelier
COMPOSE   ?= docker compose

# Extra flags for `go test`, e.g. make test TEST_FLAGS='-run TestBoards -v'.
TEST_FLAGS  ?=
# Extra flags for benchmarks, e.g. make bench BENCH_FLAGS='-benchtime=3x -cpu=1,2'.
BENCH_FLAGS ?=

# The test suite needs a real PostgreSQL (admin DSN) and Redis; these are its defaults.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0
export TEST_DATABASE_URL TEST_REDIS_URL

.DEFAULT_GOAL := build

.PHONY: all build run test bench lint fmt vet services compose-up compose-down compose-logs clean help

all: lint build test

## build: compile the binary into bin/app, as the Dockerfile does (static, stripped)
build:
	@mkdir -p $(dir $(BIN))
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN) $(MAIN_PKG)

## run: build, then serve with no configuration (embedded database and broker in ./data)
run: build
	./$(BIN) serve

## test: the whole suite (needs PostgreSQL and Redis: see `make services`)
test:
	$(GO) test -race -count=1 -timeout 20m $(TEST_FLAGS) ./...

## bench: benchmarks only, no tests
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_FLAGS) ./...

## lint: gofmt check and go vet
lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run 'make fmt'):"; \
		echo "$$unformatted"; \
		exit 1; \
	fi
	$(GO) vet ./...

## fmt: rewrite Go files with gofmt
fmt:
	gofmt -w .

vet:
	$(GO) vet ./...

## services: make sure the local PostgreSQL and Redis for tests are installed and running
services:
	bash scripts/ensure-services.sh

## compose-up: build the image and start postgres, redis, migrate, api and worker (needs JWT_SECRET)
compose-up:
	$(COMPOSE) up -d --build

compose-down:
	$(COMPOSE) down

compose-logs:
	$(COMPOSE) logs -f

## clean: remove build and test output (never ./data)
clean:
	rm -rf bin
	rm -f coverage.out coverage.html cover.out *.coverprofile *.test

## help: list targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
