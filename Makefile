# sqlmcp developer entry points. `make test` is what CI (.ci/run) runs.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# -race needs cgo and a C compiler; without them run the suite plainly
# rather than not at all.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

.PHONY: build test lint demo bench generate clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/sqlmcp ./cmd/sqlmcp

test:
	$(GO) test $(RACE) -count=1 -timeout 10m ./...

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: build
	$(GO) run ./cmd/sqlmcp-demo

# Go micro-benchmarks, then the end-to-end harness against the built binary
# on whichever of PostgreSQL, MariaDB/MySQL and SQLite are reachable (see
# BENCHMARKS.md; narrow it with BENCHFLAGS="-backend postgres -case small").
BENCHFLAGS ?= -duration 1s
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=1s ./tools/ ./dialect/policy/
	$(GO) run ./cmd/sqlmcp-bench $(BENCHFLAGS)

generate:
	$(GO) generate ./...

clean:
	rm -rf bin
