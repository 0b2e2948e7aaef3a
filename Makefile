# wsloop build and test entry points. `make test` is what CI runs (.ci/run).
GO      ?= go
FUZZTIME ?= 20s

.PHONY: test vet unit bench fuzz

test: vet unit

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 ./...

# Benchmarks of the main module (codec, bufpool, engine); bench/ compares peers.
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
