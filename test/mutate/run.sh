#!/usr/bin/env bash
# make mutate: StrykerJS over each unit of MUTATE_FOLDERS, one after the other
# (src/protocol is one unit per protocol), then the score per folder of src/
# and the survivors (test/mutate/report.ts). Slow (minutes to an hour per unit
# on 2 shared cores), so it is not part of make test. Runs under nice -n 19.
#
# Incremental: a mutant killed before, whose code is unchanged, is not run
# again. One that survived is always run again: to the tap runner a test file
# is one test, so Stryker cannot see a test case added to a file it knows and
# would keep the old "survived" (test/mutate/prune.ts drops those results).
#
# MUTATE_SAMPLE=0.15 mutates only a sample of each unit (test/mutate/stryker.config.mjs says
# how it is drawn) and reports its score as an estimate.
# MUTATE_RETRY_TIMEOUTS=1 runs the timed-out mutants again too (prune.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
PROTOCOLS="protocol-resp protocol-http protocol-dns protocol-memcached protocol-kafka protocol-mysql protocol-pgsql protocol-sql"
UNITS=
for f in ${MUTATE_FOLDERS:-decode connections pairing protocol}; do
	if [ "$f" = protocol ]; then UNITS="$UNITS $PROTOCOLS"; else UNITS="$UNITS $f"; fi
done
export TZ=UTC
# The tests run in a copy of the tree (.stryker-tmp/), where ../shared is not beside them.
if [ -d ../shared/corpus ]; then export TCPKIT_CORPUS="$(cd ../shared/corpus && pwd)"; fi
mkdir -p reports/mutation
for unit in $UNITS; do
	echo "== $unit"
	node dist/test/mutate/prune.js "reports/mutation/$unit.incremental.json"
	NODE_OPTIONS="--require $PWD/test/mutate/child-coverage.cjs" MUTATE_FOLDER=$unit \
		nice -n 19 npx --no-install stryker run test/mutate/stryker.config.mjs
done
node dist/test/mutate/report.js ${MUTATE_SAMPLE:+--sample} $UNITS
