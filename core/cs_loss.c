/* Mean squared error and softmax cross-entropy with their gradients, and
 * accuracy by argmax: docs/design.md §7 (PyTorch's definitions). */
#include "cs_loss.h"

#include <assert.h>
#include <math.h>

double cs_loss_mse(double *dy, const double *y, const double *t, size_t m, size_t k)
{
    size_t n = m * k;
    double scale = 1.0 / (double)n, sum = 0;
    for (size_t i = 0; i < n; i++) {
        double r = y[i] - t[i];
        sum += r * r;
        if (dy)
            dy[i] = 2.0 * r * scale;
    }
    return sum * scale;
}

double cs_loss_cross_entropy(double *dy, const double *y, const int *labels, size_t m, size_t k)
{
    double sum = 0, inv_m = 1.0 / (double)m;
    for (size_t i = 0; i < m; i++) {
        const double *row = y + i * k;
        assert(labels[i] >= 0 && (size_t)labels[i] < k);
        /* lse = max + log sum exp(v - max): every exponent is <= 0, and the
         * largest term is exactly 1, so the sum is in [1, k]. */
        double mx = row[0];
        for (size_t j = 1; j < k; j++)
            mx = row[j] > mx ? row[j] : mx;
        double s = 0;
        for (size_t j = 0; j < k; j++)
            s += exp(row[j] - mx);
        double lse = mx + log(s);
        sum += lse - row[labels[i]];
        if (dy) {
            double *drow = dy + i * k;
            for (size_t j = 0; j < k; j++)
                drow[j] = exp(row[j] - lse) * inv_m;
            drow[labels[i]] -= inv_m;
        }
    }
    return sum * inv_m;
}

/* Index of the first largest entry of v (k), or -1 when any is nonfinite. */
static long cs_loss_row_argmax(const double *v, size_t k)
{
    size_t best = 0;
    for (size_t j = 0; j < k; j++) {
        if (!isfinite(v[j]))
            return -1;
        if (v[j] > v[best])
            best = j;
    }
    return (long)best;
}

size_t cs_loss_correct(const double *y, const int *labels, size_t m, size_t k)
{
    size_t correct = 0;
    for (size_t i = 0; i < m; i++)
        correct += cs_loss_row_argmax(y + i * k, k) == (long)labels[i];
    return correct;
}

void cs_loss_argmax(int *labels, const double *t, size_t m, size_t k)
{
    for (size_t i = 0; i < m; i++) {
        const double *v = t + i * k;
        size_t best = 0;
        while (best < k && isnan(v[best]))
            best++;
        if (best == k)
            best = 0;
        for (size_t j = best + 1; j < k; j++)
            if (v[j] > v[best])
                best = j;
        labels[i] = (int)best;
    }
}
