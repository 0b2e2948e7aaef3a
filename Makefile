# wsloop build and test entry points. `make test` is what CI runs (.ci/run): it installs what the
# interop and browser tests need, vets, then runs every test with the race detector.
GO       ?= go
FUZZTIME ?= 20s
# npm packages for the interop tests live here (ignored by git).
NPM_DIR  := $(CURDIR)/.cache/npm

.PHONY: test deps node npm-deps browser-deps python-deps vet unit natsbroker-test bench-test bench fuzz

test: deps vet unit natsbroker-test bench-test

deps: npm-deps browser-deps python-deps

# Node's ws and nodejs-websocket, the peers of the interop tests.
npm-deps: node
	@mods='$(NPM_DIR)/node_modules'; \
	check='const v = n => require(process.argv[1] + "/" + n + "/package.json").version;'; \
	check="$$check"' process.exit(/^8[.]/.test(v("ws")) && v("nodejs-websocket") === "1.7.2" ? 0 : 1)'; \
	if node -e "$$check" "$$mods" 2>/dev/null; then \
	  echo "npm-deps: ws@8 and nodejs-websocket@1.7.2 already in $$mods"; \
	else \
	  mkdir -p '$(NPM_DIR)' && \
	  npm install --prefix '$(NPM_DIR)' --no-audit --no-fund ws@8 nodejs-websocket@1.7.2 || \
	    { echo "npm-deps: npm install of ws@8 and nodejs-websocket@1.7.2 into $(NPM_DIR) failed" >&2; exit 1; }; \
	fi

# Node.js and npm run the interop peers; Debian's packages when the machine has none.
node:
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; }

# Debian's chromium for the browser test.
browser-deps: node
	@if [ -x /usr/bin/chromium ]; then \
	  echo "browser-deps: /usr/bin/chromium already installed"; \
	else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium || \
	    { echo "browser-deps: apt-get install chromium failed" >&2; exit 1; }; \
	fi
	@mods='$(NPM_DIR)/node_modules'; \
	check='process.exit(require(process.argv[1] + "/playwright-core/package.json").version === "1.64.1" ? 0 : 1)'; \
	if node -e "$$check" "$$mods" 2>/dev/null; then \
	  echo "browser-deps: playwright-core@1.64.1 already in $$mods"; \
	else \
	  mkdir -p '$(NPM_DIR)' && \
	  npm install --prefix '$(NPM_DIR)' --no-audit --no-fund playwright-core@1.64.1 || \
	    { echo "browser-deps: npm install of playwright-core@1.64.1 into $(NPM_DIR) failed" >&2; exit 1; }; \
	fi

# Debian's python3-websockets for the Python interop test, under Debian's own python3 (the one on
# the PATH may be another without Debian's packages).
python-deps:
	@if /usr/bin/python3 -c 'import websockets' 2>/dev/null; then \
	  echo "python-deps: websockets already importable by /usr/bin/python3"; \
	else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-websockets || \
	    { echo "python-deps: apt-get install python3-websockets failed" >&2; exit 1; }; \
	fi

vet:
	$(GO) vet ./...

# Allocation counts mean nothing under the race detector, so those tests run once more without it;
# and the accept path runs once without gnet's linked internals (-tags wsloop_nolinkname, see
# poller/gnetfd.go), as a program built against another gnet would.
unit:
	WSLOOP_NODE_MODULES=$(NPM_DIR)/node_modules $(GO) test -race -count=1 -timeout 12m ./...
	$(GO) test -count=1 -run 'Alloc|EverySizeStaysPooled' ./api/ ./bufpool/
	$(GO) test -count=1 -tags wsloop_nolinkname ./poller/ ./api/ -run 'Listen|Accept|Enroll|Serve|Echo'

# natsbroker/ is a module of its own (it depends on NATS; the main module does not). Its
# allocation test runs once more without the race detector, as in unit.
natsbroker-test:
	cd natsbroker && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 6m ./... && \
	  $(GO) test -count=1 -run 'Allocs' ./...

# bench/ is a module of its own too (it depends on the peers): its tools' tests (the limit row's
# server, the report and charts, perfsplit) run here; its benchmarks only under make bench.
bench-test:
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./internal/... ./cmd/...

# Benchmarks of the main module (codec, bufpool, api, cmd/echo), then bench/'s comparison with
# the peers, which regenerates the benchmark part of bench/RESULTS.md (about 12 minutes).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(MAKE) -C bench results

# Every fuzz target for FUZZTIME each. Inputs that find a bug land in testdata/fuzz and stay.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$t for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

# wsconform against cmd/echo, run as a user runs it, compared with the committed expected results
# (CONFORM_FLAGS=-full: section 9 at Autobahn's sizes). CONFORM_ECHO_FLAGS=-deflate (or
# -deflate-takeover) runs the compression sections 12 and 13 against echo in that mode instead,
# compared with testdata/expected-echo-deflate.json (expected-echo-deflate-takeover.json). make
# test runs the same checks as cmd/wsconform's Go tests.
.PHONY: conform
conform:
	@set -e; dir='$(CURDIR)/.cache/conform'; mkdir -p "$$dir"; \
	$(GO) build -o "$$dir/echo" ./cmd/echo; $(GO) build -o "$$dir/wsconform" ./cmd/wsconform; \
	"$$dir/echo" -addr 127.0.0.1:0 -max-message 16777216 $(CONFORM_ECHO_FLAGS) > "$$dir/echo.out" & pid=$$!; \
	trap 'kill $$pid 2>/dev/null || true' EXIT; \
	for i in $$(seq 100); do grep -q '^listening on ' "$$dir/echo.out" && break; sleep 0.1; done; \
	addr=$$(sed -n 's/^listening on //p' "$$dir/echo.out"); \
	cases=; [ -z '$(CONFORM_ECHO_FLAGS)' ] || cases='-cases 12,13'; \
	"$$dir/wsconform" server -q $$cases $(CONFORM_FLAGS) -expect cmd/wsconform/testdata/expected-echo$(CONFORM_ECHO_FLAGS).json "ws://$$addr/"
