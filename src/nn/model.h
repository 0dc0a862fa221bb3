/* nn/model.h — the image classifier of genreid: a torchvision ResNet body (resnet18, resnet34) or
 * a narrow ResNet for training from scratch ("small"), followed by fastai's create_head:
 *   AdaptiveConcatPool2d (max, avg) → Flatten → BatchNorm1d(2F) → Dropout(0.25)
 *   → Linear(2F,512,bias=False) → ReLU → BatchNorm1d(512) → Dropout(0.5) → Linear(512,C,bias=False)
 * with F the body's last width (512 for resnet18/34). Forward and backward, fp32, on the CPU.
 *
 * Matches: torchvision.models.resnet18/34 (names, shapes, BasicBlock with 1x1 stride-2
 * downsample conv+bn) and fastai's head; BatchNorm as torch.nn.BatchNorm{1,2}d (momentum 0.1,
 * eps 1e-5, running_var updated with the UNBIASED batch variance, num_batches_tracked counted);
 * loss = torch.nn.functional.cross_entropy (mean). Checked against PyTorch dumps made by
 * tools/make-nn-fixtures.py (tests/nn/test_model.c).
 * Leaves out: optimisers and schedules (nn/optim.h, nn/schedule.h), the model file (src/model).
 *
 * Input layout: x is NCHW float32 [N][3][H][W], already normalised. Internal activation layout is
 * private (oneDNN blocked nChw16c; see nn/dnn.h) — callers never see it.
 *
 * Lifecycle: nn_model_new → nn_workspace_new (one per thread and batch shape) → nn_forward
 * (→ nn_loss_backward when training) → nn_workspace_free → nn_model_free.
 * Thread safety: in eval mode (training=0) nn_forward only reads the model, so any number of
 * threads may run it at once on one model, each with its own workspace (tests/nn/test_model.c).
 * Training forward updates BN running stats in the model and backward writes the model's grads:
 * one training thread at a time. */
#ifndef GENREID_NN_MODEL_H
#define GENREID_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "nn/param.h"

typedef struct nn_model nn_model;         /* weights + structure */
typedef struct nn_workspace nn_workspace; /* activations, grads of activations, primitives: one batch shape */

/* arch: "resnet18", "resnet34" or "small" (widths 16-32-64-128, two BasicBlocks per stage, head
 * 256→512→C). n_classes >= 1. Weights initialised like fastai/torchvision (kaiming_normal fan_out
 * for convs, kaiming_normal fan_in for head linears, BN weight 1 bias 0, running var 1) from
 * seed (core/rng.h generator, Box-Muller normals: not torch.randn's numbers). NULL + err on failure. */
nn_model *nn_model_new(const char *arch, int n_classes, uint64_t seed, genreid_error *err);
/* The same with every parameter and buffer zero, for weights that are about to be loaded (the
 * random init costs more than reading a model file). */
nn_model *nn_model_new_blank(const char *arch, int n_classes, genreid_error *err);
void nn_model_free(nn_model *m); /* NULL ok */

/* All parameters and buffers in PyTorch state_dict order (see nn/param.h for names, groups,
 * flags). *out points into the model (valid until nn_model_free). Returns the count.
 * param.grad is NULL until gradients exist (nn_model_alloc_grads or a training workspace). */
size_t nn_model_params(nn_model *m, nn_param **out);
nn_param *nn_model_find(nn_model *m, const char *name); /* NULL if no such name */
const char *nn_model_arch(const nn_model *m);
int nn_model_classes(const nn_model *m);
/* Gradient arena (same layout as the parameters, zeroed). Called by nn_workspace_new(training=1). */
genreid_status nn_model_alloc_grads(nn_model *m, genreid_error *err);
void nn_zero_grad(nn_model *m); /* grads of all params to 0 (no-op before they exist) */
/* Call after writing weights (nn_param.data) by hand, e.g. loading a model file into a model
 * that already ran eval forwards: eval workspaces keep the weights reordered for oneDNN and
 * refresh them only when this version moves. nn_zero_grad and nn_loss_backward also move it
 * (an optimiser step follows them), so a normal train loop needs no call. */
void nn_model_weights_changed(nn_model *m);

/* fastai freeze(): frozen=1 stops weight gradients of groups 0-1 except BN params (train_bn);
 * their grads stay 0 and their weight-gradient convolutions are skipped. frozen=0: all train. */
void nn_set_frozen(nn_model *m, int frozen);
int nn_get_frozen(const nn_model *m);

/* Precision of the convolutions in workspaces made after the call (existing ones keep theirs).
 * NN_FP32 (default) is the exact reference path. NN_BF16 is mixed precision as torch.autocast
 * does it: the body's activations and their gradients are bf16, each convolution rounds its
 * weights to bf16 and accumulates in fp32; weights, their gradients, optimiser state, batch-norm
 * statistics, the head and the loss stay fp32. Only where oneDNN runs bf16 natively (AVX512_BF16, AMX):
 * elsewhere NN_BF16 is refused and fp32 kept. Returns the precision now in force. */
typedef enum nn_precision { NN_FP32 = 0, NN_BF16 = 1 } nn_precision;
int nn_bf16_supported(void);
nn_precision nn_set_precision(nn_model *m, nn_precision p);
nn_precision nn_get_precision(const nn_model *m);
nn_precision nn_workspace_precision(const nn_workspace *ws);
/* Tests only: which build of the bf16 elementwise loops runs (1 AVX2, 0 baseline; -1 until the
 * first use, which picks AVX2 where the CPU has it). Both give the same bits. */
extern int nn_ew_avx2;

/* Threads used by every nn computation (oneDNN's OpenMP pool and nn's own loops). n >= 1.
 * With n = 1 and a fixed seed results are bit-for-bit repeatable. Process-wide. */
void nn_set_threads(int n);
int nn_get_threads(void);

/* A workspace for batches of up to `batch` images of height x width (both >= 32). training=1
 * allocates what backward needs (and the model's grads); training=0 allocates the forward only.
 * All memory is planned and allocated here; nn_forward/nn_loss_backward allocate nothing. */
nn_workspace *nn_workspace_new(nn_model *m, int batch, int height, int width, int training,
                               genreid_error *err);
void nn_workspace_free(nn_workspace *ws); /* NULL ok */
size_t nn_workspace_bytes(const nn_workspace *ws); /* memory the workspace holds */
/* The embedding of the last nn_forward: per input, the vector the head's last Linear reads (the
 * 512 outputs of its BatchNorm1d; dropout is off in eval). out: [n][nn_embedding_size]. */
int nn_embedding_size(const nn_model *m);
void nn_workspace_embeddings(const nn_workspace *ws, int n, float *out);
/* Seed of the dropout generator (default 0). Same seed → same masks. */
void nn_workspace_seed(nn_workspace *ws, uint64_t seed);
/* A flag (the CLI's SIGINT/SIGTERM flag) that nn_forward and the backward pass poll between
 * residual blocks: non-zero ends the call with GENREID_E_CANCELLED, so a stop request waits for
 * one block, not a whole batch. A cancelled training step leaves gradients partial and batch-norm
 * running statistics already moved by that forward. NULL (default): never polled. */
void nn_workspace_set_cancel(nn_workspace *ws, const volatile int *flag);
/* enabled=0 turns dropout into identity in training mode too (parity tests only). */
void nn_workspace_set_dropout(nn_workspace *ws, int enabled);

/* Forward pass of n images x [n][3][H][W] (NCHW, normalised). logits [n][C] may be NULL (they
 * stay in the workspace for nn_loss_backward). training=1: batch statistics, running stats
 * updated, dropout on, needs n == batch and a training workspace; x must stay valid until
 * nn_loss_backward (the stem's weight gradient reads it). training=0: running stats,
 * no dropout, any 1 <= n <= batch (the rest of the batch is computed on zeros and dropped). */
genreid_status nn_forward(nn_model *m, nn_workspace *ws, const float *x, int n, float *logits,
                          int training, genreid_error *err);

/* Mean cross-entropy of the last training forward against labels [n] (0..C-1), into *loss; then
 * backward through head and body, ADDING into each param's grad (call nn_zero_grad first). */
genreid_status nn_loss_backward(nn_model *m, nn_workspace *ws, const int *labels, float *loss,
                                genreid_error *err);

/* The same with soft targets [n][C] (each row a distribution over the classes: mixup's blend of
 * two one-hot labels): loss = mean over items of -sum_c t_c log softmax_c. */
genreid_status nn_loss_backward_soft(nn_model *m, nn_workspace *ws, const float *targets, float *loss,
                                     genreid_error *err);

/* Copies an intermediate of the last forward, NCHW, into out (cap floats). name: "stem" (after
 * maxpool), "layer1".."layer4", "pool" [N][2F], "head1" (after the first linear+relu, [N][512]),
 * "logits" [N][C]. *count gets the element count. For tests and debugging. */
genreid_status nn_workspace_activation(const nn_workspace *ws, const char *name, float *out,
                                       size_t cap, size_t *count, genreid_error *err);

/* Numerically stable softmax of logits [n][C] into probs [n][C] (may alias). */
void nn_softmax(const float *logits, int n, int C, float *probs);
/* Mean cross-entropy, like torch.nn.functional.cross_entropy; dlogits [n][C] (may be NULL)
 * gets d loss / d logits = (softmax - onehot) / n. */
float nn_cross_entropy(const float *logits, const int *labels, int n, int C, float *dlogits);

#endif
