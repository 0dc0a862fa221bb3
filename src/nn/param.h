/* nn/param.h — the named-tensor view of a model that the optimiser, the model file and weight
 * import share. A model lists every parameter and buffer in PyTorch state_dict order with its
 * PyTorch name; body names follow torchvision (conv1.weight, bn1.running_mean,
 * layer1.0.conv1.weight, layer1.0.downsample.0.weight, ...), the fastai head is "head.<index in
 * fastai's nn.Sequential>.<param>" (head.2.weight = BatchNorm1d(1024), head.4.weight =
 * Linear(1024,512), head.6.* = BatchNorm1d(512), head.8.weight = Linear(512,C)). */
#ifndef GENREID_NN_PARAM_H
#define GENREID_NN_PARAM_H

#include <stddef.h>

#define NN_PARAM_NAME_MAX 64
#define NN_PARAM_MAX_DIMS 4

typedef enum nn_tensor_kind {
    NN_PARAM = 0,        /* trainable: weight, bias */
    NN_BUFFER = 1,       /* running_mean, running_var (float) */
    NN_BUFFER_COUNT = 2  /* num_batches_tracked (int64 in PyTorch; stored here as one float) */
} nn_tensor_kind;

typedef struct nn_param {
    char name[NN_PARAM_NAME_MAX];
    nn_tensor_kind kind;
    int ndim;
    int shape[NN_PARAM_MAX_DIMS]; /* PyTorch shape, e.g. conv weight [OC, C, KH, KW] */
    size_t n;                     /* element count */
    float *data;                  /* n floats, PyTorch's memory order for that shape */
    float *grad;                  /* n floats or NULL (training buffers appear on first use) */
    int group;                    /* fastai parameter group: 0 stem+layer1+layer2, 1 layer3+layer4, 2 head */
    int no_weight_decay;          /* batchnorm weights/biases and biases: fastai bn_wd=False */
    int is_bn;                    /* belongs to a batchnorm layer (trains even when frozen) */
} nn_param;

#endif
