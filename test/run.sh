#!/usr/bin/env bash
# The whole suite, as `make test` and `npm test` run it: every *.test.js under
# dist/test (helpers there are not tests), one file at a time. At the end, what
# was skipped and why (test/helpers/skip-reporter.ts), and one closing line.
set -euo pipefail
cd "$(dirname "$0")/.."
reporter=tap
if [ -t 1 ]; then reporter=spec; fi
TZ=UTC exec node --test --test-concurrency=1 \
	--test-reporter="$reporter" --test-reporter-destination=stdout \
	--test-reporter=./dist/test/helpers/skip-reporter.js --test-reporter-destination=stdout \
	$(find dist/test -name '*.test.js' | sort) "$@"
