# sqlmcp developer entry points. `make test` is what CI (.ci/run) runs.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# -race needs cgo and a C compiler; without them run the suite plainly
# rather than not at all.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

.PHONY: build test faults lint demo bench generate clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/sqlmcp ./cmd/sqlmcp

test:
	$(GO) test $(RACE) -count=1 -timeout 10m ./...

# The fault suite: restarts, stalls, killed sessions and a refusing server
# played by a TCP proxy in front of PostgreSQL and MariaDB/MySQL under
# concurrent load (integration/faultsuite_test.go); prints calls ok/failed,
# categories, recovery times and leaks. FAULTS is the run per backend.
FAULTS ?= 45s
faults:
	@log=$$(mktemp); SQLMCP_FAULT_SUITE=$(FAULTS) $(GO) test -count=1 -timeout 10m -run 'TestFaultSuite' -v ./integration/ >$$log 2>&1; \
		rc=$$?; grep -E '^(fault suite|  [a-z]|--- |ok|FAIL|PASS)|_test.go:[0-9]+: [^f]' $$log; rm -f $$log; exit $$rc

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
