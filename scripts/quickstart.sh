#!/usr/bin/env bash
# The main job (README): installs what is missing, builds covshift (Release)
# and runs the quickstart experiment into results/quickstart.db, then the
# worksheet, then the quickstart's figures (PDF, for print) and its report
# (report.md with the same figures as PNG) in results/quickstart/.
# Re-running resumes: runs already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target covshift >/dev/null
./build/covshift run experiments/quickstart.ini --jobs "$(nproc)" "$@"
./build/covshift list results/quickstart.db | tail -n 3
./build/covshift worksheet --out results/worksheet >/dev/null
./build/covshift plot results/quickstart.db --format pdf --out results/quickstart >/dev/null
./build/covshift report results/quickstart.db --out results/quickstart >/dev/null
echo "quickstart: results in results/quickstart.db, worksheet figures in results/worksheet/,"
echo "figures and report in results/quickstart/ (report.md, *.png, *.pdf)"
