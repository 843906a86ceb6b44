# driverplug: every task CI runs has a target here.
.PHONY: setup generate check-generated lint format typecheck build test check bench clean guest demo-qemu

BIN := node_modules/.bin

# The README's set-up command: the Debian packages the interop, VM and
# libvirt tests need (a no-op when they are there), the qemu test guest, the npm packages
# from the lockfile, the build.
setup:
	sh test/interop/install-deps.sh
	sh scripts/install-qemu-deps.sh
	sh scripts/install-libvirt-deps.sh
	$(MAKE) --no-print-directory guest
	npm ci
	$(MAKE) build

# The qemu driver's test guest (docs/qemu.md), built from Debian packages into
# a cache keyed by their versions; the last line printed is the bundle's path.
guest:
	@bash scripts/guest/build-guest.sh

# A real VM's life through the CLI (create, start, ssh, stop, rm), each step
# timed, on the test guest; checks that nothing of it is left.
demo-qemu: build
	@bundle=$$(bash scripts/guest/build-guest.sh) && node dist/src/cli/demo-qemu.js "$$bundle"

# Regenerate generated/ from proto/ with the pinned buf and ts-proto.
generate:
	$(BIN)/buf generate

# Fails when generated/ is not what `make generate` makes.
check-generated: generate
	@git diff --exit-code --stat -- generated || { echo "generated/ is stale: run 'make generate' and commit it" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- generated)" || { echo "generated/ has untracked files: run 'make generate' and commit it" >&2; git status --porcelain -- generated >&2; exit 1; }

# buf lint for the proto, eslint (typescript-eslint) and prettier for the code.
lint:
	$(BIN)/buf lint
	$(BIN)/eslint .
	$(BIN)/prettier --check .

# Rewrites the code in the formatter's style.
format:
	$(BIN)/prettier --write .

typecheck:
	$(BIN)/tsc --noEmit -p tsconfig.json

build:
	$(BIN)/tsc -p tsconfig.build.json
	node scripts/build-bundles.mjs

# The README's test command. The JSON report feeds CI's closing summary line.
test: build
	$(BIN)/vitest run --reporter=default --reporter=json --outputFile.json=dist/test-report.json

# Benchmarks side by side (bench/README.md); BENCH_QUICK=1 for a short run.
bench: build
	$(BIN)/tsc -p bench/tsconfig.json
	node dist/bench/run.js

# Everything CI checks.
check: check-generated lint typecheck test

clean:
	rm -rf dist
