/* image/image.h — 8-bit RGB/RGBA images: decode PNG and JPEG, encode PNG.
 *
 * Decoding matches what fastai's PILImage.create does (Pillow 9.4 `Image.open(...).convert('RGB')`):
 * alpha is dropped, not composited; palette, grey and low-bit-depth images are expanded to RGB;
 * 16-bit RGB(A)/grey+alpha keep the high byte; 16-bit grey is clipped to 0..255 (Pillow opens it
 * as mode "I" and convert('RGB') clips). gAMA/iCCP/sRGB are ignored, as Pillow does. JPEG goes
 * through libjpeg-turbo with its defaults (islow DCT, fancy upsampling), as Pillow's decoder does.
 * Left out: GIF/BMP/WebP/TIFF, CMYK JPEG (GENREID_E_UNSUPPORTED), EXIF orientation (fastai
 * ignores it too). Untrusted sizes are checked before any pixel allocation. Tested in
 * tests/image/test_image.c. */
#ifndef GENREID_IMAGE_IMAGE_H
#define GENREID_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

/* Decompression-bomb limits, checked on the header before pixels are allocated. */
#define IMAGE_MAX_SIDE 8192
#define IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

typedef struct image {
    int width, height;
    int channels;      /* 3 = RGB, 4 = RGBA */
    uint8_t *pixels;   /* [height][width][channels], row-major, top row first; owned */
} image;

/* Allocates a width x height x channels image (pixels uninitialised). Checks the limits above
 * and channels in {3,4}. On failure out is zeroed. */
genreid_status image_alloc(image *out, int width, int height, int channels, genreid_error *err);
/* Frees pixels and zeroes img. Accepts NULL and zeroed images. */
void image_free(image *img);

/* Decodes a PNG or JPEG (sniffed by magic, not by name) to 8-bit RGB (out->channels == 3).
 * name is used in messages ("x.png: truncated PNG"). Errors: GENREID_E_FORMAT (not an image,
 * corrupt, truncated), GENREID_E_LIMIT (> IMAGE_MAX_SIDE a side or > IMAGE_MAX_PIXELS),
 * GENREID_E_UNSUPPORTED (CMYK JPEG), GENREID_E_NOMEM. On failure out is zeroed. */
genreid_status image_load_memory(const void *buf, size_t len, const char *name, image *out,
                                 genreid_error *err);
/* Reads path and calls image_load_memory (file larger than 256 MiB: GENREID_E_LIMIT). */
genreid_status image_load(const char *path, image *out, genreid_error *err);

/* PNG deflate level (libdeflate) chosen by measurement (see image.c's top comment); -D overridable for benchmarks. */
#ifndef IMAGE_PNG_LEVEL
#define IMAGE_PNG_LEVEL 1
#endif

/* Encodes img as an 8-bit PNG (RGB or RGBA as img->channels) into a malloc'ed buffer
 * (*out, *out_len; caller frees). The one PNG encoder: image_write_png calls it. */
genreid_status image_encode_png_memory(const image *img, uint8_t **out, size_t *out_len,
                                       genreid_error *err);
/* Encodes img and writes it to path atomically (core/atomic.h): no partial file on failure. */
genreid_status image_write_png(const char *path, const image *img, genreid_error *err);

#endif
