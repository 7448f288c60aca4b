# sqlmcp developer entry points. `make test` is what CI (.ci/run) runs.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

# -race needs cgo and a C compiler; without them run the suite plainly
# rather than not at all.
RACE ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)

.PHONY: build test faults lint demo bench generate release image mcpb clean

BIN ?= bin/sqlmcp
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/sqlmcp

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
# The Go part includes tools' BenchmarkContextCost, which prints the
# context-cost table: the bytes a model reads for a scripted task set on
# Chinook and on 1,000 tables, beside main's (issue 15).
BENCHFLAGS ?= -duration 1s
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=1s ./tools/ ./tools/transport/ ./dialect/policy/
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

# The container image (Containerfile): FROM scratch, the static binary,
# the build host's CA bundle (Debian/Ubuntu: apt-get install ca-certificates;
# elsewhere set CA_BUNDLE), user 65532, a 1777 /tmp. Needs buildah (Debian:
# apt-get install buildah; runs as root, no daemon, pulls nothing), else
# docker or podman. The context is staged in IMAGE_CONTEXT; file times are
# the commit's and, with buildah, so is the image's creation time.
IMAGE         ?= sqlmcp:$(VERSION)
IMAGE_CONTEXT ?= bin/image
CA_BUNDLE     ?= /etc/ssl/certs/ca-certificates.crt
image: build
	@test -r $(CA_BUNDLE) || { echo "make image: no CA bundle at $(CA_BUNDLE): apt-get install ca-certificates, or set CA_BUNDLE=FILE" >&2; exit 1; }
	@set -e; epoch=$$(git log -1 --format=%ct 2>/dev/null || date +%s); \
	revision=$$(git rev-parse HEAD 2>/dev/null || true); \
	root=$(IMAGE_CONTEXT)/rootfs; \
	rm -rf $(IMAGE_CONTEXT); \
	mkdir -p $$root/etc/ssl/certs $$root/tmp; \
	install -m 0755 $(BIN) $$root/sqlmcp; \
	install -m 0644 $(CA_BUNDLE) $$root/etc/ssl/certs/ca-certificates.crt; \
	printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' >$$root/etc/passwd; \
	printf 'root:x:0:\nnonroot:x:65532:\n' >$$root/etc/group; \
	chmod 0644 $$root/etc/passwd $$root/etc/group; \
	chmod 1777 $$root/tmp; \
	find $$root -exec touch -h -d @$$epoch {} +; \
	args="-f Containerfile -t $(IMAGE) --build-arg VERSION=$(VERSION) --build-arg REVISION=$$revision"; \
	if command -v buildah >/dev/null; then \
		echo "image: buildah bud $(IMAGE)"; \
		buildah bud --isolation chroot --format docker --timestamp $$epoch $$args $(IMAGE_CONTEXT); \
	elif command -v docker >/dev/null; then \
		echo "image: docker build $(IMAGE)"; \
		docker build $$args $(IMAGE_CONTEXT); \
	elif command -v podman >/dev/null; then \
		echo "image: podman build $(IMAGE)"; \
		podman build --format docker $$args $(IMAGE_CONTEXT); \
	else \
		echo "make image: needs buildah (apt-get install buildah), docker or podman" >&2; exit 1; \
	fi

# The Claude Desktop extension (mcpb/manifest.json): static binaries for
# macOS and Linux (amd64, arm64; mcpb/sqlmcp.sh picks one) and Windows amd64
# (arm64 Windows runs it emulated), packed with the @anthropic-ai/mcpb npm
# tool into dist/sqlmcp-VERSION.mcpb. Needs node/npx. The manifest's version
# is VERSION without its v (0.0.0-dev+REV when there is no tag).
MCPB       ?= npx -y @anthropic-ai/mcpb@2.1.2
MCPB_STAGE ?= bin/mcpb
MCPB_PLATFORMS ?= darwin/amd64 darwin/arm64 linux/amd64 linux/arm64 windows/amd64
mcpb:
	@command -v node >/dev/null || { echo "make mcpb: needs node and npx (the @anthropic-ai/mcpb tool)" >&2; exit 1; }
	@set -e; epoch=$$(git log -1 --format=%ct 2>/dev/null || date +%s); \
	v=$(VERSION); v=$${v#v}; echo "$$v" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+' || v=0.0.0-dev+$$v; \
	rm -rf $(MCPB_STAGE); mkdir -p $(MCPB_STAGE)/server dist; \
	for p in $(MCPB_PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; ext=; [ "$$os" != windows ] || ext=.exe; \
		echo "mcpb: sqlmcp-$$os-$$arch$$ext"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(MCPB_STAGE)/server/sqlmcp-$$os-$$arch$$ext ./cmd/sqlmcp; \
	done; \
	install -m 0755 mcpb/sqlmcp.sh $(MCPB_STAGE)/server/sqlmcp.sh; \
	cp LICENSE cmd/sqlmcp/demo/LICENSE-chinook.md $(MCPB_STAGE)/; \
	V="$$v" node -e 'const fs=require("fs");const m=JSON.parse(fs.readFileSync("mcpb/manifest.json","utf8"));m.version=process.env.V;fs.writeFileSync(process.argv[1],JSON.stringify(m,null,2)+"\n")' $(MCPB_STAGE)/manifest.json; \
	find $(MCPB_STAGE) -exec touch -h -d @$$epoch {} +; \
	$(MCPB) validate $(MCPB_STAGE)/manifest.json; \
	$(MCPB) pack $(MCPB_STAGE) dist/sqlmcp-$(VERSION).mcpb

clean:
	rm -rf bin dist
