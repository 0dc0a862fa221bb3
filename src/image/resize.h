/* image/resize.h — the resizes and the tensor conversion of fastai's inference pipeline.
 *
 * resize_*: Pillow 9.4's `Image.resize(size, Image.BILINEAR)` on 8-bit images (ImagingResample:
 * triangle filter whose support widens by the scale factor when shrinking, coefficients computed
 * in double, normalised, rounded to 22-bit fixed point; horizontal pass, then vertical, with
 * rounding and clipping to uint8 between them). Bit-exact against PIL-written fixtures in
 * tests/image/test_image.c. fastai's Resize(192, method='squish') on a PIL image is exactly this
 * resize to 192x192 (crop_pad with tl = (0,0) and the full size crops and pads nothing).
 * Channels are resized independently: exact for RGB; for RGBA only when alpha is 255 everywhere
 * (Pillow premultiplies alpha first, a no-op then — true of every seed render).
 *
 * image_preresize: fastai.vision.utils.resize_image(max_size=M): when a side exceeds M, resize to
 * resize_to(img, M) = (int(w * M / max(w,h)), int(h * M / max(w,h))) with BILINEAR, then RGB.
 *
 * image_to_tensor_normalized: fastai IntToFloatTensor + Normalize.from_stats(*imagenet_stats):
 * (x / 255 - mean) / std, float32, CHW. */
#ifndef GENREID_IMAGE_RESIZE_H
#define GENREID_IMAGE_RESIZE_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "image/image.h"

typedef struct resize_plan resize_plan;

/* Plans an in_w x in_h → out_w x out_h bilinear resize (coefficients for both passes). Sizes
 * 1..IMAGE_MAX_SIDE. NULL with err filled on failure. */
resize_plan *resize_new(int in_w, int in_h, int out_w, int out_h, genreid_error *err);
/* Bytes of workspace resize_run needs for an image of `channels` channels. */
size_t resize_work_size(const resize_plan *plan, int channels);
/* Resizes in (plan's input size, 3 or 4 channels) into out->pixels, which the caller allocated
 * with the plan's output size and in's channel count. work: resize_work_size bytes, or NULL to let
 * the call allocate it (the only allocation). Thread-safe: the plan is read-only. */
genreid_status resize_run(const resize_plan *plan, const image *in, image *out, void *work,
                          genreid_error *err);
/* Accepts NULL. */
void resize_free(resize_plan *plan);
/* Which passes run: -1 (default) the fastest the CPU has, 0 scalar, 1 SSE2 horizontal, 2 AVX2
 * horizontal a row at a time, 3 AVX2 horizontal eight rows at a time and AVX2 vertical (each
 * falling back where a plan or CPU cannot take it); the vertical pass is scalar below 3. All give
 * the same pixels. For tests and benchmarks; not thread-safe to change while resizes run. */
extern int resize_path;

/* One-shot: plans, allocates out (out_w x out_h, in's channels), runs, frees the plan. */
genreid_status image_resize_bilinear(const image *in, int out_w, int out_h, image *out,
                                     genreid_error *err);

/* fastai's resize_to(img, max_size): the (w, h) keeping the aspect ratio with max side max_size,
 * truncated as Python's int() does. */
void resize_fit_size(int w, int h, int max_size, int *out_w, int *out_h);
/* fastai resize_image(max_size): out = RGB copy of in if no side exceeds max_size, else the
 * bilinear resize to resize_fit_size(...), alpha dropped afterwards. out is allocated here. */
genreid_status image_preresize(const image *in, int max_size, image *out, genreid_error *err);

/* ImageNet statistics (fastai imagenet_stats), float32 as torch holds them. */
extern const float image_imagenet_mean[3], image_imagenet_std[3];
/* out[3][height][width] (CHW) = ((float)p / 255 - mean[c]) / std[c] for the RGB channels of img
 * (alpha ignored). Caller provides 3 * width * height floats. */
genreid_status image_to_tensor_normalized(const image *img, float *out, genreid_error *err);

#endif
