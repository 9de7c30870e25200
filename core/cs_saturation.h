/* Saturated activations, frac_saturated of docs/design.md §2: the entries
 * where phi'(z) < 0.05 max phi', found by thresholds on z per activation. */
#ifndef CS_SATURATION_H
#define CS_SATURATION_H

#include <stddef.h>

#include "cs_activation.h"

/* For every activation of covshift the saturated set {phi'(z) < cutoff} is
 * {z < lo} U {z > hi}: phi' is monotone on each side of where it crosses
 * the cutoff (tanh, sigmoid: |z| large; selu, relu, leaky_relu: z at or
 * below the crossing; gelu: phi'(z) < 0 for all z < -1, by Mills' ratio,
 * and increasing above). The thresholds keep a relative band of 1e-6
 * around lo and hi, where libm's error (~1e-15) could move the crossing:
 *   z < sat_below or z > sat_above         saturated
 *   free_above < z < free_below            not saturated
 *   anything else (in a band, or nonfinite) decided by phi' itself.
 * A side with no crossing has its thresholds at -Inf or +Inf. */
typedef struct {
    double sat_below, sat_above;
    double free_above, free_below;
    double cutoff; /* 0.05 max phi' (cs_activation_max_derivative) */
} cs_saturation;

/* The thresholds of act, found by bisection on cs_activation_derivative.
 * act must be a valid activation other than CS_ACT_LINEAR (which never
 * saturates: phi' = 1). */
void cs_saturation_bounds(cs_saturation *sb, cs_activation act);

/* frac_saturated (docs/design.md §2) of z[0..count), count >= 1:
 * #{i : phi'(z_i) < 0.05 max phi'} / count with phi' as
 * cs_activation_derivative computes it (so relu'(0) = 0 is saturated), 0
 * for linear. Equals the count made by evaluating phi' on every entry
 * exactly, nonfinite entries included (NaN: phi' is NaN, not saturated;
 * -Inf under tanh: phi' = 0, saturated). Allocates nothing. */
double cs_saturation_fraction(const double *z, size_t count, cs_activation act);

#endif
