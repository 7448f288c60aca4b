# sqlmcp developer entry points. `make test` is what CI (.ci/run) runs.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# -race needs cgo and a C compiler; without them run the suite plainly
# rather than not at all.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

.PHONY: build test faults lint demo bench generate release clean

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

# Release archives in dist/: a static binary (CGO_ENABLED=0, -trimpath,
# VERSION in -ldflags) per platform, with LICENSE, README.md, CHANGELOG.md,
# SECURITY.md and the Chinook data licence (the demo database is embedded),
# as .tar.gz (.zip for windows), and SHA-256 checksums. Reproducible: file
# times are the commit's. Cross-compiled with the go command alone:
# goreleaser could not be installed here (README.md, "Releases").
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
release:
	@command -v zip >/dev/null || { echo "make release: zip is needed for the windows archives (apt-get install zip)" >&2; exit 1; }
	rm -rf dist
	mkdir -p dist
	@set -e; epoch=$$(git log -1 --format=%ct 2>/dev/null || date +%s); \
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" != windows ] || ext=.exe; \
		name=sqlmcp_$(VERSION)_$${os}_$${arch}; stage=dist/$$name; \
		echo "release: $$name"; \
		mkdir -p $$stage; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$stage/sqlmcp$$ext ./cmd/sqlmcp; \
		cp LICENSE README.md CHANGELOG.md SECURITY.md cmd/sqlmcp/demo/LICENSE-chinook.md $$stage/; \
		touch -d @$$epoch $$stage $$stage/*; \
		if [ "$$os" = windows ]; then \
			(cd dist && find $$name | LC_ALL=C sort | zip -qX -@ $$name.zip); \
		else \
			tar --sort=name --mtime=@$$epoch --owner=0 --group=0 --numeric-owner -C dist -cf - $$name | gzip -n >dist/$$name.tar.gz; \
		fi; \
		rm -rf $$stage; \
	done; \
	cd dist && sha256sum *.tar.gz *.zip >sqlmcp_$(VERSION)_checksums.txt && cat sqlmcp_$(VERSION)_checksums.txt

clean:
	rm -rf bin dist
