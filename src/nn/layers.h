/* nn/layers.h — plain-C layers, forward and backward side by side (llm.c style): forward stores
 * what backward needs, backward ADDS into every gradient (zeroing is the caller's, explicit).
 * Two uses: (1) the fastai head and loss, which are small and run here in production;
 * (2) the naive reference kernels (conv2d, batchnorm2d, max-pool) that the fast oneDNN path in
 * nn/dnn.c is tested against (tests/nn/test_layers.c). Layout NCHW unless said otherwise.
 * Formulas follow PyTorch: torch.nn.Conv2d (cross-correlation), BatchNorm (biased variance to
 * normalise, unbiased variance into running_var, momentum 0.1), MaxPool2d (padding = -inf, first
 * maximum wins), AdaptiveConcatPool2d (fastai: cat([max, avg], 1)), F.cross_entropy (mean). */
#ifndef GENREID_NN_LAYERS_H
#define GENREID_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>
#include "core/rng.h"

#define NN_BN_EPS 1e-5f
#define NN_BN_MOMENTUM 0.1f

/* out [N][OC][OH][OW] = conv(in [N][C][H][W], w [OC][C][K][K]); OH = (H + 2P - K)/S + 1. */
void conv2d_forward_naive(float *out, const float *in, const float *w, int N, int C, int H, int W,
                          int OC, int K, int S, int P);
/* din (may be NULL) += dconv/din, dw (may be NULL) += dconv/dw for dout [N][OC][OH][OW]. */
void conv2d_backward_naive(float *din, float *dw, const float *dout, const float *in, const float *w,
                           int N, int C, int H, int W, int OC, int K, int S, int P);

/* Batch norm over [N][C][HW] (HW = 1 for BatchNorm1d on [N][C]). training: batch statistics,
 * mean [C] and invstd [C] stored for backward, running stats updated (unbiased var);
 * otherwise running stats used and mean/invstd may be NULL. */
void batchnorm_forward(float *out, float *mean, float *invstd, const float *in, const float *weight,
                       const float *bias, float *running_mean, float *running_var, int N, int C,
                       int HW, int training);
/* Training-mode backward: din += , dweight += , dbias += (each may be NULL). */
void batchnorm_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                        const float *mean, const float *invstd, const float *weight, int N, int C,
                        int HW);

void relu_forward(float *out, const float *in, size_t n);
/* din += dout where out > 0 (out is the relu's output). */
void relu_backward(float *din, const float *dout, const float *out, size_t n);

/* 3x3 stride 2 pad 1 max-pool (torchvision stem). argmax [N][C][OH][OW] holds the input offset
 * within the (n, c) plane. OH = (H + 1)/2 + ... computed by maxpool_out_size. */
int maxpool_out_size(int H);
void maxpool_forward_naive(float *out, int32_t *argmax, const float *in, int N, int C, int H, int W);
void maxpool_backward_naive(float *din, const float *dout, const int32_t *argmax, int N, int C,
                            int H, int W);

/* fastai AdaptiveConcatPool2d to 1x1 + Flatten: out [N][2C] = [max over HW | mean over HW].
 * in is [N][C/cb][HW][cb] (cb = 1: NCHW, cb = 16: oneDNN nChw16c; C % cb == 0).
 * argmax [N][C] = hw of the first maximum. */
void concatpool_forward(float *out, int32_t *argmax, const float *in, int N, int C, int HW, int cb);
void concatpool_backward(float *din, const float *dout, const int32_t *argmax, int N, int C, int HW,
                         int cb);

/* out [N][O] = in [N][I] · w[O][I]^T (+ bias [O] if not NULL), like torch.nn.Linear. */
void linear_forward(float *out, const float *in, const float *w, const float *bias, int N, int I, int O);
void linear_backward(float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, int N, int I, int O);

/* Inverted dropout (torch.nn.Dropout in training): mask[i] = 0 with probability p, else 1/(1-p);
 * out = in * mask (out may alias in). One rng_uniform draw per element, in order, from the
 * project's generator (core/rng.h): same seed, same masks (not torch's bernoulli stream). */
void dropout_forward(float *out, float *mask, const float *in, size_t n, float p, rng *r);
void dropout_backward(float *din, const float *dout, const float *mask, size_t n);

#endif
