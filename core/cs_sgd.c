/* torch.optim.SGD's update of one tensor (docs/design.md §7). */
#include "cs_sgd.h"

void cs_sgd_step(double *param, double *buf, const double *grad, size_t n, double lr,
                 double momentum, double weight_decay)
{
    for (size_t i = 0; i < n; i++) {
        double d = weight_decay != 0 ? grad[i] + weight_decay * param[i] : grad[i];
        buf[i] = momentum * buf[i] + d;
    }
    /* lr = 0: p - 0 buf would turn a -0 weight into +0 when buf < 0 */
    if (lr == 0)
        return;
    for (size_t i = 0; i < n; i++)
        param[i] -= lr * buf[i];
}
