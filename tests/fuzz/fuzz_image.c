/* tests/fuzz/fuzz_image.c — image_load_memory (image/image.h): PNG through libpng, JPEG through
 * libjpeg-turbo. libpng drops a mutated chunk on its CRC-32, so the harness recomputes every PNG
 * chunk's CRC in a copy of the input when the input's last byte is even (odd: the bytes as they
 * are, so bad CRCs are still tried). Promises checked: a failure leaves the image zeroed, with a
 * message; a success is an RGB image inside the decompression-bomb limits, every pixel readable. */
#include "fuzz.h"
#include "image/image.h"

#include <zlib.h>

static void fix_png_crcs(uint8_t *b, size_t n) {
    if (n < 8 || memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return;
    for (size_t p = 8; p + 12 <= n;) {
        uint32_t len = (uint32_t)b[p] << 24 | (uint32_t)b[p + 1] << 16 | (uint32_t)b[p + 2] << 8 | b[p + 3];
        if (len > n - p - 12) return;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), b + p + 4, len + 4);
        for (int i = 0; i < 4; i++) b[p + 8 + len + i] = (uint8_t)(crc >> (24 - 8 * i));
        p += 12 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    if (size && !(data[size - 1] & 1)) fix_png_crcs(buf, size);
    genreid_error err;
    fuzz_err_init(&err);
    image img;
    memset(&img, 0xA5, sizeof img);
    genreid_status st = image_load_memory(buf, size, "fuzz.img", &img, &err);
    free(buf);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(fuzz_all_zero(&img, sizeof img));
        return 0;
    }
    FUZZ_REQUIRE(img.channels == 3 && img.pixels != NULL);
    FUZZ_REQUIRE(img.width >= 1 && img.height >= 1 && img.width <= IMAGE_MAX_SIDE && img.height <= IMAGE_MAX_SIDE);
    FUZZ_REQUIRE((uint64_t)img.width * (uint64_t)img.height <= IMAGE_MAX_PIXELS);
    /* a sum over all bytes: ASan/MSan-style touch of the whole buffer */
    size_t n = (size_t)img.width * (size_t)img.height * 3;
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum += img.pixels[i];
    FUZZ_REQUIRE(sum <= n * 255);
    image_free(&img);
    FUZZ_REQUIRE(fuzz_all_zero(&img, sizeof img));
    return 0;
}
