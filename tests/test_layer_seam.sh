#!/usr/bin/env bash
# The layer rule lives in one place (docs/internals.md, "The layer seam"):
# outside sim/model/cs_layer.c nothing in sim/ or cli/ calls core's dense,
# batch-norm, activation or dropout kernels (the worksheet's case 3b, which
# shows cs_bn_forward_batch itself, is the one listed exception); weights are
# drawn only in sim/model/cs_weights.c; the layer sizes (input_dim at layer
# 0, width after) are decided only in cs_layer_units. Each check also runs
# on a tree with a violation planted and must find it, so it cannot pass by
# matching nothing.
#
#   bash tests/test_layer_seam.sh BINARY SOURCE_DIR
set -euo pipefail
src=${2:?usage: test_layer_seam.sh BINARY SOURCE_DIR}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/covshift-seam.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Lines of the C sources of sim/ and cli/ under $1 matching the extended
# regex $2, minus those matching $3 (grep -n's "file:line:text").
matches() {
    (cd "$1" && grep -rnE "$2" sim cli --include='*.c' | grep -vE "$3" || true)
}

# check WHAT PATTERN ALLOWED WHERE PLANTED: no match outside ALLOWED in the
# tree, and PLANTED (a line of C) put in sim/run/planted.c is found.
check() {
    local what=$1 pattern=$2 allowed=$3 where=$4 planted=$5 found
    found=$(matches "$src" "$pattern" "$allowed")
    if [[ -n $found ]]; then
        echo "FAIL: $what outside $where:" >&2
        echo "$found" >&2
        exit 1
    fi
    rm -rf "$tmp/tree" && mkdir -p "$tmp/tree/sim/run" "$tmp/tree/cli"
    printf '%s\n' "$planted" >"$tmp/tree/sim/run/planted.c"
    if [[ -z $(matches "$tmp/tree" "$pattern" "$allowed") ]]; then
        echo "FAIL: the check for $what does not find a planted '$planted'" >&2
        exit 1
    fi
    echo "ok: $what only in $where"
}

kernels='cs_dense_forward|cs_dense_backward|cs_bn_forward_batch|cs_bn_forward_stats|cs_bn_update_running|cs_bn_backward|cs_bn_backward_stats|cs_activation_forward|cs_activation_derivative|cs_dropout_apply'
check "calls of the layer kernels" "($kernels)\(" \
    '^sim/model/cs_layer\.c:|^sim/report/cs_worksheet\.c:[0-9]+: *cs_bn_forward_batch\(ws->bn_kernel,' \
    "sim/model/cs_layer.c (and the worksheet's case 3b)" \
    'void f(double *h) { cs_bn_forward_stats(h, h, h, h, 0, 0, 1, 1, 1e-5); }'
check "weight generation" 'cs_init_dense\(|CS_STREAM_(WEIGHTS|BIAS)' '^sim/model/cs_weights\.c:' \
    "sim/model/cs_weights.c" 'void f(gsl_rng *r) { cs_rng_seed(r, 1, CS_STREAM_WEIGHTS, 2); }'
check "layer sizes" 'input_dim *[<>?:]|[<>] *p->input_dim|\? *p->input_dim' \
    '^sim/model/cs_layer\.c:[0-9]+: +return \(size_t\)\(layer == 0 \? p->input_dim : p->width\);|^sim/model/cs_params\.c:' \
    "cs_layer_units" 'size_t n(const cs_run_params *p) { return p->input_dim > p->width ? 1 : 2; }'
