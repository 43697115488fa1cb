# leaderhook — build and test.
#   make test    every test: vet, gofmt, unit + end-to-end tests with -race,
#                brief fuzzing, rule tests of examples/
#   make build   ./bin/leaderhook
#   make bench   benchmarks recorded in BENCHMARKS.md

GO        ?= go
BIN       := bin/leaderhook
# Fuzzing runs a fixed number of inputs: a time limit can end a run with a
# spurious "context deadline exceeded" from the fuzzing coordinator.
FUZZCOUNT ?= 300000x
LDFLAGS   := -s -w -X main.version=$(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

SUDO      := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all build test deps lint unit fuzz ruletests bench bench-deps clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/leaderhook

test: deps lint unit fuzz ruletests

# The end-to-end tests run a real etcd cluster (Debian's etcd-server),
# check the systemd unit with systemd-analyze (Debian's systemd) and open
# the web page in a headless browser (Debian's chromium); the alertmanager
# action's test runs Debian's Alertmanager on 127.0.0.1. The service the
# package starts on install (every interface, port 9093) is stopped and
# disabled again.
deps:
	@command -v etcd >/dev/null 2>&1 || { echo '== installing etcd-server for the etcd end-to-end test'; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server >/dev/null; }
	@command -v etcd >/dev/null 2>&1 || { echo 'etcd is still missing: install Debian package etcd-server'; exit 1; }
	@command -v systemd-analyze >/dev/null 2>&1 || { echo '== installing systemd for the unit file test (systemd-analyze verify)'; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null; }
	@command -v prometheus-alertmanager >/dev/null 2>&1 || { echo '== installing prometheus-alertmanager for the alertmanager action test'; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null && \
	  { $(SUDO) systemctl disable --now prometheus-alertmanager >/dev/null 2>&1 || $(SUDO) service prometheus-alertmanager stop >/dev/null 2>&1 || true; }; }
	@test -x /usr/bin/chromium || { echo '== installing chromium for the web page tests'; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@test -x /usr/bin/chromium || { echo 'chromium is still missing: install Debian package chromium'; exit 1; }

lint:
	@echo '== go vet'
	$(GO) vet ./...
	@echo '== gofmt'
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

unit:
	@echo '== go test -race'
	$(GO) test -race -count=1 -timeout 15m ./...

fuzz:
	@echo '== fuzz ($(FUZZCOUNT) inputs each)'
	$(GO) test ./event -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZCOUNT) -fuzzminimizetime 0
	$(GO) test ./detector -run '^$$' -fuzz '^FuzzView$$' -fuzztime $(FUZZCOUNT) -fuzzminimizetime 0
	$(GO) test ./config -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZCOUNT) -fuzzminimizetime 0
	$(GO) test ./actions -run '^$$' -fuzz '^FuzzPayload$$' -fuzztime $(FUZZCOUNT) -fuzzminimizetime 0

ruletests: build
	@echo '== leaderhook check + test on examples/'
	./$(BIN) check -c examples/rules.yaml
	./$(BIN) test examples/rules_test.yaml

# Peers for bench/peers and bench/detection: Debian's Alertmanager,
# adnanh/webhook, Prometheus and etcd. The benchmarks start their own
# Alertmanager and Prometheus on 127.0.0.1; the services the packages start
# (on every interface) are stopped and disabled again.
BENCH_TOOLS    := prometheus-alertmanager webhook prometheus etcd
BENCH_PACKAGES := prometheus-alertmanager webhook prometheus etcd-server
bench-deps:
	@for t in $(BENCH_TOOLS); do command -v $$t >/dev/null 2>&1 || missing=1; done; [ -z "$$missing" ] || { \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(BENCH_PACKAGES) >/dev/null && \
	  for s in prometheus-alertmanager prometheus; do \
	    $(SUDO) systemctl disable --now $$s >/dev/null 2>&1 || $(SUDO) service $$s stop >/dev/null 2>&1 || true; done; }

bench: build bench-deps deps
	$(GO) run ./bench/gotest
	$(GO) run ./bench/replay -bin ./$(BIN) -events 1000000
	$(GO) run ./bench/daemon -bin ./$(BIN) -measure 20s
	$(GO) run ./bench/peers -bin ./$(BIN)
	$(GO) run ./bench/detection -bin ./$(BIN)
	$(GO) run ./bench/ha -bin ./$(BIN)
	$(GO) run ./bench/page -bin ./$(BIN)

clean:
	rm -rf bin
