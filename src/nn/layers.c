/* nn/layers.c — see layers.h. Plain loops, accumulated in double where a sum spans a batch
 * (batch-norm statistics), so that the reference is better than the fast path it checks. */
#include "nn/layers.h"
#include "nn/vec.h"

#include <float.h>
#include <math.h>
#include <string.h>

void conv2d_forward_naive(float *out, const float *in, const float *w, int N, int C, int H, int W,
                          int OC, int K, int S, int P) {
    int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double acc = 0.0;
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < K; kh++) {
                            int ih = oh * S - P + kh;
                            if (ih < 0 || ih >= H) continue;
                            for (int kw = 0; kw < K; kw++) {
                                int iw = ow * S - P + kw;
                                if (iw < 0 || iw >= W) continue;
                                acc += (double)in[(((size_t)n * C + c) * H + ih) * W + iw] *
                                       w[(((size_t)o * C + c) * K + kh) * K + kw];
                            }
                        }
                    out[(((size_t)n * OC + o) * OH + oh) * OW + ow] = (float)acc;
                }
}

void conv2d_backward_naive(float *din, float *dw, const float *dout, const float *in, const float *w,
                           int N, int C, int H, int W, int OC, int K, int S, int P) {
    int OH = (H + 2 * P - K) / S + 1, OW = (W + 2 * P - K) / S + 1;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    float g = dout[(((size_t)n * OC + o) * OH + oh) * OW + ow];
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < K; kh++) {
                            int ih = oh * S - P + kh;
                            if (ih < 0 || ih >= H) continue;
                            for (int kw = 0; kw < K; kw++) {
                                int iw = ow * S - P + kw;
                                if (iw < 0 || iw >= W) continue;
                                size_t ii = (((size_t)n * C + c) * H + ih) * W + iw;
                                size_t wi = (((size_t)o * C + c) * K + kh) * K + kw;
                                if (din) din[ii] += g * w[wi];
                                if (dw) dw[wi] += g * in[ii];
                            }
                        }
                }
}

void batchnorm_forward(float *out, float *mean, float *invstd, const float *in, const float *weight,
                       const float *bias, float *running_mean, float *running_var, int N, int C,
                       int HW, int training) {
    size_t cnt = (size_t)N * HW;
    for (int c = 0; c < C; c++) {
        double m, is;
        if (training) {
            double s = 0.0, ss = 0.0;
            for (int n = 0; n < N; n++) {
                const float *p = in + ((size_t)n * C + c) * HW;
                for (int i = 0; i < HW; i++) s += p[i];
            }
            m = s / (double)cnt;
            for (int n = 0; n < N; n++) {
                const float *p = in + ((size_t)n * C + c) * HW;
                for (int i = 0; i < HW; i++) ss += (p[i] - m) * (p[i] - m);
            }
            double var = ss / (double)cnt;
            is = 1.0 / sqrt(var + (double)NN_BN_EPS);
            if (mean) mean[c] = (float)m;
            if (invstd) invstd[c] = (float)is;
            if (running_mean) /* torch: running = (1 - momentum) running + momentum batch */
                running_mean[c] = (float)((1.0 - NN_BN_MOMENTUM) * running_mean[c] + NN_BN_MOMENTUM * m);
            if (running_var) {
                double unbiased = cnt > 1 ? ss / (double)(cnt - 1) : var;
                running_var[c] = (float)((1.0 - NN_BN_MOMENTUM) * running_var[c] + NN_BN_MOMENTUM * unbiased);
            }
        } else {
            m = running_mean[c];
            is = 1.0 / sqrt((double)running_var[c] + (double)NN_BN_EPS);
        }
        float a = (float)(weight[c] * is), b = (float)(bias[c] - m * weight[c] * is);
        for (int n = 0; n < N; n++) {
            const float *p = in + ((size_t)n * C + c) * HW;
            float *q = out + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) q[i] = p[i] * a + b;
        }
    }
}

void batchnorm_backward(float *din, float *dweight, float *dbias, const float *dout, const float *in,
                        const float *mean, const float *invstd, const float *weight, int N, int C,
                        int HW) {
    double cnt = (double)N * HW;
    for (int c = 0; c < C; c++) {
        /* d xhat = dout * w; din = invstd/cnt * (cnt dxhat - sum dxhat - xhat sum(dxhat xhat)) */
        double sg = 0.0, sgx = 0.0, m = mean[c], is = invstd[c];
        for (int n = 0; n < N; n++) {
            const float *g = dout + ((size_t)n * C + c) * HW, *x = in + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sg += g[i];
                sgx += g[i] * (x[i] - m) * is;
            }
        }
        if (dweight) dweight[c] += (float)sgx;
        if (dbias) dbias[c] += (float)sg;
        if (!din) continue;
        double k = weight[c] * is / cnt;
        for (int n = 0; n < N; n++) {
            const float *g = dout + ((size_t)n * C + c) * HW, *x = in + ((size_t)n * C + c) * HW;
            float *d = din + ((size_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                double xh = (x[i] - m) * is;
                d[i] += (float)(k * (cnt * g[i] - sg - xh * sgx));
            }
        }
    }
}

void relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward(float *din, const float *dout, const float *out, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0.0f) din[i] += dout[i];
}

int maxpool_out_size(int H) { return (H + 2 * 1 - 3) / 2 + 1; }

void maxpool_forward_naive(float *out, int32_t *argmax, const float *in, int N, int C, int H, int W) {
    int OH = maxpool_out_size(H), OW = maxpool_out_size(W);
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const float *p = in + nc * H * W;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float best = -INFINITY;
                int32_t bi = -1;
                for (int kh = 0; kh < 3; kh++) {
                    int ih = oh * 2 - 1 + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int kw = 0; kw < 3; kw++) {
                        int iw = ow * 2 - 1 + kw;
                        if (iw < 0 || iw >= W) continue;
                        if (bi < 0 || p[ih * W + iw] > best) {
                            best = p[ih * W + iw];
                            bi = ih * W + iw;
                        }
                    }
                }
                out[nc * OH * OW + (size_t)oh * OW + ow] = best;
                if (argmax) argmax[nc * OH * OW + (size_t)oh * OW + ow] = bi;
            }
    }
}

void maxpool_backward_naive(float *din, const float *dout, const int32_t *argmax, int N, int C,
                            int H, int W) {
    int OH = maxpool_out_size(H), OW = maxpool_out_size(W);
    for (size_t nc = 0; nc < (size_t)N * C; nc++)
        for (int i = 0; i < OH * OW; i++)
            din[nc * H * W + argmax[nc * OH * OW + i]] += dout[nc * OH * OW + i];
}

static inline size_t blk_index(int n, int c, int hw, int C, int HW, int cb) {
    return (((size_t)n * (C / cb) + c / cb) * HW + hw) * cb + c % cb;
}

void concatpool_forward(float *out, int32_t *argmax, const float *in, int N, int C, int HW, int cb) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float best = -INFINITY;
            int32_t bi = 0;
            double s = 0.0;
            for (int hw = 0; hw < HW; hw++) {
                float v = in[blk_index(n, c, hw, C, HW, cb)];
                if (v > best || hw == 0) {
                    best = v;
                    bi = hw;
                }
                s += v;
            }
            out[(size_t)n * 2 * C + c] = best;
            out[(size_t)n * 2 * C + C + c] = (float)(s / HW);
            if (argmax) argmax[(size_t)n * C + c] = bi;
        }
}

void concatpool_backward(float *din, const float *dout, const int32_t *argmax, int N, int C, int HW,
                         int cb) {
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
            float ga = dout[(size_t)n * 2 * C + C + c] / (float)HW;
            for (int hw = 0; hw < HW; hw++) din[blk_index(n, c, hw, C, HW, cb)] += ga;
            din[blk_index(n, c, argmax[(size_t)n * C + c], C, HW, cb)] += dout[(size_t)n * 2 * C + c];
        }
}

/* Eight partial sums (nn/vec.h) added in a fixed order, then the tail: the one-accumulator loop
 * waited on every add's latency and was a sixth of a bf16 inference batch. The same operations in
 * the same order on every CPU, so results do not depend on the ISA. */
static float dot(const float *x, const float *y, int n) {
    v8f acc = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8) acc += V8(x + i) * V8(y + i);
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++) s += x[i] * y[i];
    return s;
}

/* d += g * x, eight lanes at a time (elementwise: the same result as the plain loop) */
static void axpy(float *d, float g, const float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) V8(d + i) += g * V8(x + i);
    for (; i < n; i++) d[i] += g * x[i];
}

void linear_forward(float *out, const float *in, const float *w, const float *bias, int N, int I, int O) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++)
            out[(size_t)n * O + o] = (bias ? bias[o] : 0.0f) + dot(in + (size_t)n * I, w + (size_t)o * I, I);
}

void linear_backward(float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, int N, int I, int O) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            float g = dout[(size_t)n * O + o];
            if (g == 0.0f) continue;
            const float *x = in + (size_t)n * I, *wr = w + (size_t)o * I;
            if (dbias) dbias[o] += g;
            if (din) axpy(din + (size_t)n * I, g, wr, I);
            if (dw) axpy(dw + (size_t)o * I, g, x, I);
        }
}

void dropout_forward(float *out, float *mask, const float *in, size_t n, float p, rng *r) {
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        float m = rng_uniform(r) < p ? 0.0f : keep;
        mask[i] = m;
        out[i] = in[i] * m;
    }
}

void dropout_backward(float *din, const float *dout, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i++) din[i] += dout[i] * mask[i];
}
