#!/usr/bin/env bash
# make mutate: StrykerJS over each folder of MUTATE_FOLDERS, one after the
# other, then the score per folder and the survivors (test/mutate/report.ts).
# Slow (tens of minutes per folder on 2 cores), so it is not part of make test.
# Incremental: a second run only re-tests mutants whose code or tests changed.
set -euo pipefail
cd "$(dirname "$0")/../.."
FOLDERS=${MUTATE_FOLDERS:-protocol pairing connections decode}
export TZ=UTC
# The tests run in a copy of the tree (.stryker-tmp/), where ../shared is not beside them.
if [ -d ../shared/corpus ]; then export TCPKIT_CORPUS="$(cd ../shared/corpus && pwd)"; fi
export NODE_OPTIONS="--require $PWD/test/mutate/child-coverage.cjs"
mkdir -p reports/mutation
for folder in $FOLDERS; do
	echo "== src/$folder"
	MUTATE_FOLDER=$folder npx --no-install stryker run stryker.config.mjs
done
unset NODE_OPTIONS
node dist/test/mutate/report.js $FOLDERS
