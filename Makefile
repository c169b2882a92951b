# tcpkit: one Makefile for the Debian packages, the native addon, the eBPF
# program and the TypeScript. Quiet unless V=1.
#
#   make setup   Debian packages (as root), npm packages, and every build step
#   make demo    setup, then tcpkit on the capture that ships in test/fixtures
#   make test    setup, then the whole test suite
#   make bench   setup, then the benchmarks: one table of what they measured
#   make fuzz    damaged captures through tcpkit -r for FUZZ_MINUTES (default 5)
#   make asan-fuzz  the native pcap reader built with AddressSanitizer, over
#                damaged captures for ASAN_SECONDS (default 300)
#   make release release/tcpkit-VERSION-linux-ARCH.tgz: what a server installs
#                with `npm install -g`, no compiler needed there
#   make mutate  mutation testing (StrykerJS) of protocol, pairing, connections
#                and decode against the non-live tests: score and survivors

.DELETE_ON_ERROR:
.SUFFIXES:
Q := $(if $(V),,@)
SHELL := /bin/bash

# What the build, the tests and the benchmarks run. Debian 12 names.
DEBIAN_PACKAGES := build-essential python3 pkg-config clang llvm libbpf-dev bpftool libpcap-dev libelf-dev \
	zlib1g-dev redis-server redis-tools memcached nginx-light dnsmasq-base tcpdump tshark iproute2 \
	dnsutils libcap2-bin ethtool curl procps systemd libmemcached-tools wrk iperf3 time tmux \
	kafkacat mariadb-server mariadb-client postgresql postgresql-client

NATIVE_SOURCES := $(wildcard native/*.cc native/*.h) bpf/record.h bpf/sample.h binding.gyp
BPF_OBJ := bpf/.output/tcpkit.bpf.o
BPF_SKEL := bpf/.output/tcpkit.skel.h
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)
TS_SOURCES := $(shell find src test -name '*.ts' 2>/dev/null) tsconfig.json
ADDON := build/Release/tcpkit.node
DIST := dist/.built

.PHONY: all setup deps build demo test bench install clean fuzz asan-fuzz release mutate

all: build

setup: deps build install

# Installs the Debian packages that are missing. Services that Debian would
# start on install (redis, memcached, nginx) are kept from starting: tests run
# their own, in their own network namespaces.
deps:
	$(Q)missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install:$$missing" >&2; exit 1; fi; \
		echo "Installing Debian packages:$$missing"; \
		blocker=0; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; blocker=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
		[ $$blocker = 1 ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	$(Q)npm ci --no-audit --no-fund --loglevel=error

build: $(ADDON) $(DIST)

# The eBPF program, and the skeleton the addon loads it with.
$(BPF_OBJ): bpf/tcpkit.bpf.c bpf/sample.h
	$(Q)mkdir -p $(@D)
	$(Q)clang -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -I/usr/include/$(MULTIARCH) -Ibpf -c $< -o $@

$(BPF_SKEL): $(BPF_OBJ)
	$(Q)bpftool gen skeleton $< name tcpkit_bpf > $@

$(ADDON): $(NATIVE_SOURCES) $(BPF_SKEL) node_modules/.package-lock.json
	$(Q)npx --no-install node-gyp rebuild $(if $(V),,--loglevel=warn >/dev/null)

$(DIST): $(TS_SOURCES) node_modules/.package-lock.json
	$(Q)rm -rf dist  # no output left from a source that is gone
	$(Q)npx --no-install tsc -p tsconfig.json
	$(Q)chmod +x dist/src/cli/main.js
	$(Q)touch $@

# `tcpkit` on the PATH, pointing at this checkout.
install: build
	$(Q)if [ -w /usr/local/bin ]; then ln -sf "$(CURDIR)/dist/src/cli/main.js" /usr/local/bin/tcpkit; fi

demo: setup
	$(Q)echo '$$ tcpkit -r test/fixtures/redis-demo.pcap -p 6379 -m redis'
	$(Q)node dist/src/cli/main.js -r test/fixtures/redis-demo.pcap -p 6379 -m redis

# test/run.sh: every *.test.js (helpers under dist/test are not tests), then what was skipped and why.
test: setup
	$(Q)bash test/run.sh

# One table at the end; test/bench/all.sh lists the parts and their settings.
bench: setup
	$(Q)bash test/bench/all.sh

# Slow (see test/TESTING.md): not part of make test. MUTATE_FOLDERS picks folders.
mutate: build
	$(Q)bash test/mutate/run.sh

FUZZ_MINUTES ?= 5
ASAN_SECONDS ?= 300

fuzz: build
	$(Q)node dist/test/fuzz/fuzz-cli.js --minutes $(FUZZ_MINUTES)

# The addon again, with AddressSanitizer, in a directory of its own (the
# product's build/ is untouched). Node itself is not instrumented: libasan is
# preloaded into it, and only this addon's code is checked (its reads of
# libpcap's buffers and its writes to the batches included).
ASAN_ADDON := build-asan/tcpkit.node
NODE_INCLUDE := $(shell node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
LIBASAN := $(shell g++ -print-file-name=libasan.so)

$(ASAN_ADDON): $(NATIVE_SOURCES) $(BPF_SKEL) node_modules/.package-lock.json
	$(Q)mkdir -p $(@D)
	$(Q)g++ -std=c++17 -shared -fPIC -g -O1 -fsanitize=address -fno-omit-frame-pointer \
		-DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -I$(NODE_INCLUDE) -I$$(node -p "require('node-addon-api').include_dir") \
		$(filter %.cc,$(NATIVE_SOURCES)) -o $@ -lpcap -lbpf -lelf -lz

asan-fuzz: $(ASAN_ADDON) $(DIST)
	$(Q)LD_PRELOAD=$(LIBASAN) ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
		node dist/test/fuzz/asan-reader.js --addon $(ASAN_ADDON) --seconds $(ASAN_SECONDS)

# The release: an npm package that a server installs with npm alone (README,
# "Install on a server"). The addon is prebuilt, against N-API 8 so that one
# build serves every Node >= 20, under prebuilds/linux-ARCH/ (another
# architecture's build goes beside it); the BPF program is inside it (the
# skeleton). The JavaScript is built, the npm dependencies are bundled (no
# registry needed to install), and there is no binding.gyp: npm would try to
# compile. No tests, no TypeScript.
VERSION := $(shell node -p "require('./package.json').version" 2>/dev/null)
NODE_ARCH := $(shell node -p process.arch 2>/dev/null)
RELEASE := release/tcpkit-$(VERSION)-linux-$(NODE_ARCH).tgz
RELEASE_FILES := bin/tcpkit README.md LICENSE $(wildcard scripts/*.lua contrib/*)
STAGE := $(CURDIR)/release/stage/package

release: $(RELEASE)

$(RELEASE): $(ADDON) $(DIST) $(RELEASE_FILES) package.json package-lock.json Makefile
	$(Q)rm -rf release/stage && mkdir -p $(STAGE)/prebuilds/linux-$(NODE_ARCH) $(STAGE)/dist
	$(Q)cp package.json package-lock.json $(STAGE)/
	$(Q)cd $(STAGE) && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error
	$(Q)# What the dependencies ship that nothing runs: their tests, benchmarks, TypeScript, source maps.
	$(Q)cd $(STAGE)/node_modules && find . -type d \( -name test -o -name tests -o -name __tests__ -o -name bench -o -name benchmarks \) -prune -exec rm -rf {} + && \
		find . -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.test.js' -o -name '*.spec.js' \) -delete && \
		find . -type d -empty -delete
	$(Q)cp --parents $(RELEASE_FILES) $(STAGE)/
	$(Q)cd dist && find src -name '*.js' -exec cp --parents {} $(STAGE)/dist/ \;
	$(Q)cp $(ADDON) $(STAGE)/prebuilds/linux-$(NODE_ARCH)/tcpkit.node
	$(Q)cd $(STAGE) && rm package-lock.json && npm pkg delete devDependencies scripts gypfile private && \
		npm pkg set bundleDependencies=true 'os=["linux"]' 'cpu=["$(NODE_ARCH)"]' --json
	$(Q)cd $(STAGE) && npm pack --pack-destination $(CURDIR)/release --loglevel=error >/dev/null
	$(Q)mv release/tcpkit-$(VERSION).tgz $@ && rm -rf release/stage
	$(Q)echo "$@: $$(du -k $@ | cut -f1) KiB"

clean:
	$(Q)rm -rf build build-asan dist bpf/.output release
