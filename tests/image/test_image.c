/* tests/image/test_image.c — the image module against references nobody here wrote:
 * librosa+matplotlib renders of the synthetic s1/s2 arrays (../shared/reference copies in
 * tests/data/image, expected 0 differing pixels), manifest.json's jet LUT, Pillow 9.4 decodes,
 * bilinear resizes and fastai pre-resizes, and torch's normalised tensor (all written by
 * tools/make-image-fixtures.py). Also: PNG round trips and hostile inputs (corrupt, truncated,
 * not an image, decompression bomb header, truncated JPEG), which must fail cleanly. */
#include "test.h"
#include "core/npy.h"
#include "image/colormap.h"
#include "image/image.h"
#include "image/render.h"
#include "image/resize.h"

#include <math.h>
#include <stdint.h>
#include <zlib.h>

/* Compares the RGB channels of a (3 or 4 channels) with b; returns max abs diff, *n_diff = values
 * that differ. -1 if sizes differ. */
static int rgb_diff(const image *a, const image *b, long *n_diff) {
    *n_diff = 0;
    if (a->width != b->width || a->height != b->height) return -1;
    int mx = 0;
    size_t n = (size_t)a->width * a->height;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            int d = abs((int)a->pixels[i * a->channels + c] - (int)b->pixels[i * b->channels + c]);
            if (d) (*n_diff)++;
            if (d > mx) mx = d;
        }
    return mx;
}

static void test_colormaps(void) {
    size_t n = 0;
    char *txt = test_read_file(test_data("image/manifest_jet_lut.txt"), &n);
    CHECK(txt != NULL);
    if (!txt) return;
    int same = 1, k = 0;
    char *p = txt;
    for (; k < 256; k++) {
        int r, g, b, used;
        if (sscanf(p, "%d %d %d%n", &r, &g, &b, &used) != 3) break;
        p += used;
        if (r != colormap_jet[k][0] || g != colormap_jet[k][1] || b != colormap_jet[k][2]) same = 0;
    }
    free(txt);
    CHECKF(k == 256 && same, "jet LUT differs from manifest (read %d entries)", k);
    CHECK(colormap_jet[0][0] == 0 && colormap_jet[0][1] == 0 && colormap_jet[0][2] == 128);
    CHECK(colormap_jet[255][0] == 128 && colormap_jet[255][1] == 0 && colormap_jet[255][2] == 0);
    CHECK(colormap_by_name("jet") == colormap_jet);
    CHECK(colormap_by_name("viridis") == colormap_viridis);
    CHECK(colormap_by_name("magma") == colormap_magma);
    CHECK(colormap_by_name("gray") == colormap_gray);
    CHECK(colormap_by_name("Jet") == NULL && colormap_by_name("") == NULL && colormap_by_name(NULL) == NULL);
    /* viridis ends (68,1,84) → (253,231,37); gray is the identity. */
    CHECK(colormap_viridis[0][0] == 68 && colormap_viridis[0][1] == 1 && colormap_viridis[0][2] == 84);
    CHECK(colormap_viridis[255][0] == 253 && colormap_viridis[255][1] == 231 && colormap_viridis[255][2] == 37);
    CHECK(colormap_gray[77][0] == 77 && colormap_gray[77][2] == 77);
}

static void test_cell_maps(void) {
    /* Against the manifest's floating formula away from exact boundaries, and boundaries by hand. */
    int bad = 0;
    size_t sizes[] = {1, 2, 44, 385, 431, 930, 1025, 1407, 5000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (size_t x = 0; x < RENDER_DATA_W; x++) {
            double f = ceil((x + 0.5) / 930.0 * n) - 1;
            if (fabs((x + 0.5) / 930.0 * n - round((x + 0.5) / 930.0 * n)) > 1e-9 &&
                render_frame_of_column(x, n) != (size_t)(f < 0 ? 0 : f)) bad++;
        }
        for (size_t y = 0; y < RENDER_DATA_H; y++) {
            double b = ceil((385 - (y + 0.5)) / 385.0 * n) - 1;
            double e = (385 - (y + 0.5)) / 385.0 * n;
            if (fabs(e - round(e)) > 1e-9 && render_bin_of_row(y, n) != (size_t)(b < 0 ? 0 : b)) bad++;
        }
    }
    CHECKF(bad == 0, "%d cell-map mismatches", bad);
    /* n = 1860: column 0's centre is at exactly 1.0 cell → the lower index, 0. */
    CHECK(render_frame_of_column(0, 1860) == 0);
    CHECK(render_frame_of_column(929, 1407) == 1406);
    CHECK(render_bin_of_row(0, 1025) == 1023 && render_bin_of_row(384, 1025) == 1);
}

static void test_render_reference(const char *stem) {
    char p[256];
    genreid_error err;
    npy_array D = {0};
    image ref = {0}, out = {0};
    snprintf(p, sizeof p, "image/%s.stft_db.npy", stem);
    CHECKF(npy_read(test_data(p), &D, &err) == GENREID_OK && D.ndim == 2, "%s", err.message);
    snprintf(p, sizeof p, "image/%s.png", stem);
    CHECKF(image_load(test_data(p), &ref, &err) == GENREID_OK, "%s", err.message);
    if (D.data && ref.pixels) {
        CHECK(render_seed(D.data, D.shape[0], D.shape[1], colormap_jet, &out, &err) == GENREID_OK);
        CHECK(out.width == 1200 && out.height == 500 && out.channels == 4);
        long nd = 0;
        int mx = rgb_diff(&out, &ref, &nd);
        CHECKF(mx == 0 && nd == 0, "%s: render differs from matplotlib: max %d, %ld values", stem, mx, nd);
        int alpha_ok = 1;
        for (size_t i = 0; i < 1200 * 500; i++) alpha_ok &= out.pixels[i * 4 + 3] == 255;
        CHECK(alpha_ok);
        printf("render %s (%zux%zu): max diff %d, %ld differing values vs matplotlib\n", stem,
               D.shape[0], D.shape[1], mx, nd);

        /* --no-figure box = the figure's pure data pixels (columns 152..1078, rows 62..443). */
        image box = {0};
        CHECK(render_data_only(D.data, D.shape[0], D.shape[1], colormap_jet, &box, &err) == GENREID_OK);
        CHECK(box.width == 930 && box.height == 385 && box.channels == 3);
        int same = 1;
        for (int y = 2; y < 383 && box.pixels; y++)
            for (int x = 2; x < 928; x++)
                same &= memcmp(box.pixels + ((size_t)y * 930 + x) * 3,
                               ref.pixels + ((size_t)(y + 60) * 1200 + x + 150) * 3, 3) == 0;
        CHECK(same);
        image_free(&box);

        /* PNG round trip, file and memory encoders giving the same bytes. */
        const char *f = test_path(test_tmpdir(), "rt.png");
        CHECKF(image_write_png(f, &out, &err) == GENREID_OK, "%s", err.message);
        image back = {0};
        CHECKF(image_load(f, &back, &err) == GENREID_OK, "%s", err.message);
        CHECK(rgb_diff(&back, &out, &nd) == 0 && nd == 0);
        uint8_t *mem = NULL;
        size_t mlen = 0, flen = 0;
        CHECK(image_encode_png_memory(&out, &mem, &mlen, &err) == GENREID_OK);
        void *fdata = test_read_file(f, &flen);
        CHECK(fdata && mem && flen == mlen && memcmp(fdata, mem, mlen) == 0);
        free(fdata);
        free(mem);
        image_free(&back);
    }
    image_free(&out);
    image_free(&ref);
    npy_free(&D);
}

static void test_render_edges(void) {
    genreid_error err;
    image out = {0};
    float c[6] = {-3, -3, -3, -3, -3, -3};
    /* Constant array: matplotlib's Normalize maps all to 0 → jet[0] everywhere in the box. */
    CHECK(render_seed(c, 2, 3, colormap_jet, &out, &err) == GENREID_OK);
    CHECK(out.pixels && memcmp(out.pixels + (200 * 1200 + 500) * 4, colormap_jet[0], 3) == 0);
    /* Frame: spines black, white outside, 241 one outside, corners from the manifest. */
    CHECK(out.pixels[(60 * 1200 + 500) * 4] == 0 && out.pixels[(300 * 1200 + 1080) * 4] == 0);
    CHECK(out.pixels[(10 * 1200 + 10) * 4] == 255 && out.pixels[(59 * 1200 + 500) * 4] == 241);
    CHECK(out.pixels[(446 * 1200 + 1081) * 4] == 253 && out.pixels[(59 * 1200 + 150) * 4] == 227);
    /* Just inside the left spine: jet[0] = (0,0,128) × 241/255 floored = (0,0,120). */
    CHECK(out.pixels[(200 * 1200 + 151) * 4 + 2] == 120);
    image_free(&out);

    float d[4] = {0, 1, 2, NAN};
    CHECK(render_seed(d, 2, 2, colormap_jet, &out, &err) == GENREID_E_INVALID && out.pixels == NULL);
    CHECK(strstr(err.message, "NaN") != NULL);
    d[3] = INFINITY;
    CHECK(render_data_only(d, 2, 2, colormap_jet, &out, &err) == GENREID_E_INVALID);
    CHECK(render_seed(d, 0, 2, colormap_jet, &out, &err) == GENREID_E_INVALID);
    CHECK(render_seed(NULL, 2, 2, colormap_jet, &out, &err) == GENREID_E_INVALID);

    /* render_mel: low band at the bottom; 0 → idx 0, max → idx 255, middle value → (int)(0.5*256). */
    float m[2 * 3] = {0, 1, 2,    /* band 0 */
                      4, 4, 3};   /* band 1 */
    CHECK(render_mel(m, 2, 3, colormap_gray, &out, &err) == GENREID_OK);
    CHECK(out.width == 3 && out.height == 2 && out.channels == 3);
    if (out.pixels) {
        CHECK(out.pixels[(1 * 3 + 0) * 3] == 0);   /* bottom-left = band 0 frame 0 = vmin */
        CHECK(out.pixels[(0 * 3 + 0) * 3] == 255); /* top-left = band 1 frame 0 = vmax */
        CHECK(out.pixels[(1 * 3 + 2) * 3] == 128); /* 2/4*256 = 128 */
        CHECK(out.pixels[(0 * 3 + 2) * 3] == 192); /* 3/4*256 = 192 */
        CHECK(out.pixels[(1 * 3 + 1) * 3] == 64);
    }
    image_free(&out);
    CHECK(render_mel(m, 2, 100000, colormap_gray, &out, &err) == GENREID_E_LIMIT);

    /* The SSE2 scan (8 floats a step) and its scalar tail: extremes and NaN/inf in both parts. */
    float v[37];
    for (int i = 0; i < 37; i++) v[i] = (float)(i % 7);
    v[9] = 100.0f;  /* max inside the vector part */
    v[36] = -50.0f; /* min in the scalar tail */
    CHECK(render_mel(v, 1, 37, colormap_gray, &out, &err) == GENREID_OK);
    CHECK(out.pixels && out.pixels[9 * 3] == 255 && out.pixels[36 * 3] == 0);
    /* 6 → (6 + 50) / 150 * 256 = 95.57 → 95, in float32 as matplotlib. */
    CHECK(out.pixels && out.pixels[6 * 3] == 95);
    image_free(&out);
    v[5] = NAN;
    CHECK(render_mel(v, 1, 37, colormap_gray, &out, &err) == GENREID_E_INVALID);
    v[5] = 1.0f;
    v[17] = -INFINITY;
    CHECK(render_mel(v, 1, 37, colormap_gray, &out, &err) == GENREID_E_INVALID);
    v[17] = 1.0f;
    v[35] = NAN;
    CHECK(render_mel(v, 1, 37, colormap_gray, &out, &err) == GENREID_E_INVALID);
}

static void test_decoders(void) {
    const char *kinds[] = {"dec_rgb.png", "dec_rgba.png", "dec_gray.png", "dec_la.png", "dec_bw.png",
                           "dec_palette.png", "dec_gray16.png", "dec_rgb16.png", "dec_q85.jpg",
                           "dec_grayj.jpg"};
    genreid_error err;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char p[128], e[128];
        snprintf(p, sizeof p, "image/%s", kinds[i]);
        snprintf(e, sizeof e, "image/%.*s.expect.png", (int)(strrchr(kinds[i], '.') - kinds[i]), kinds[i]);
        image a = {0}, b = {0};
        CHECKF(image_load(test_data(p), &a, &err) == GENREID_OK, "%s", err.message);
        CHECKF(image_load(test_data(e), &b, &err) == GENREID_OK, "%s", err.message);
        long nd = 0;
        int mx = rgb_diff(&a, &b, &nd);
        CHECKF(a.channels == 3 && mx == 0, "%s: max diff %d (%ld values) vs PIL convert('RGB')", kinds[i], mx, nd);
        image_free(&a);
        image_free(&b);
    }
}

static uint8_t *build_png_header(uint32_t w, uint32_t h, size_t *n) {
    /* Signature + a valid IHDR (correct CRC) claiming w x h RGB, then nothing. */
    static uint8_t buf[8 + 25];
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(buf, sig, 8);
    uint8_t *c = buf + 8;
    c[0] = 0, c[1] = 0, c[2] = 0, c[3] = 13;
    memcpy(c + 4, "IHDR", 4);
    uint8_t *d = c + 8;
    d[0] = w >> 24, d[1] = w >> 16, d[2] = w >> 8, d[3] = w;
    d[4] = h >> 24, d[5] = h >> 16, d[6] = h >> 8, d[7] = h;
    d[8] = 8, d[9] = 2, d[10] = 0, d[11] = 0, d[12] = 0;
    uLong crc = crc32(0, c + 4, 17);
    c[21] = crc >> 24, c[22] = crc >> 16, c[23] = crc >> 8, c[24] = crc;
    *n = sizeof buf;
    return buf;
}

static void test_hostile(void) {
    genreid_error err;
    image im = {0};
    size_t n = 0;
    uint8_t *png = test_read_file(test_data("image/s2_chirp_44100.png"), &n);
    CHECK(png != NULL && n > 1000);
    if (!png) return;

    /* Truncated PNG (half the bytes, then only the header). */
    CHECK(image_load_memory(png, n / 2, "half.png", &im, &err) == GENREID_E_FORMAT);
    CHECKF(strncmp(err.message, "half.png: ", 10) == 0 && !strchr(err.message, '\n'), "%s", err.message);
    CHECK(im.pixels == NULL);
    CHECK(image_load_memory(png, 20, "tiny.png", &im, &err) == GENREID_E_FORMAT);

    /* Corrupt PNG: bytes inside the first IDAT flipped (CRC and zlib both fail). */
    uint8_t *bad = malloc(n);
    memcpy(bad, png, n);
    uint8_t *idat = memmem(bad, n, "IDAT", 4);
    CHECK(idat != NULL);
    if (idat)
        for (int i = 10; i < 60; i++) idat[i] ^= 0x5a;
    CHECK(image_load_memory(bad, n, "corrupt.png", &im, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "corrupt.png") != NULL, "%s", err.message);
    /* Flipped byte in the IHDR: bad CRC on a critical chunk. */
    memcpy(bad, png, n);
    bad[18] ^= 1;
    CHECK(image_load_memory(bad, n, "ihdr.png", &im, &err) == GENREID_E_FORMAT);
    free(bad);

    /* Text named .png; empty; missing. */
    const char *txt = test_path(test_tmpdir(), "notes.png");
    test_write_file(txt, "hello, this is not a picture\n", 29);
    CHECK(image_load(txt, &im, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "not a PNG or JPEG") != NULL, "%s", err.message);
    const char *empty = test_path(test_tmpdir(), "empty.png");
    test_write_file(empty, "", 0);
    CHECK(image_load(empty, &im, &err) == GENREID_E_FORMAT);
    CHECK(image_load(test_path(test_tmpdir(), "missing.png"), &im, &err) == GENREID_E_IO);

    /* Decompression bombs: header-only files, rejected before allocation. */
    size_t hn;
    uint8_t *h = build_png_header(100000, 100000, &hn);
    CHECK(image_load_memory(h, hn, "bomb.png", &im, &err) == GENREID_E_LIMIT);
    CHECKF(strstr(err.message, "100000x100000") != NULL, "%s", err.message);
    h = build_png_header(8193, 10, &hn);
    CHECK(image_load_memory(h, hn, "wide.png", &im, &err) == GENREID_E_LIMIT);
    h = build_png_header(8192, 8192, &hn); /* 64 Mpx exactly: allowed, then truncated */
    CHECK(image_load_memory(h, hn, "ok-size.png", &im, &err) == GENREID_E_FORMAT);
    h = build_png_header(0x7fffffffu, 1, &hn);
    CHECK(image_load_memory(h, hn, "huge.png", &im, &err) == GENREID_E_LIMIT);
    /* An ancillary chunk claiming 640 MB in a 53-byte file: refused as corrupt before libpng
     * (which would allocate the claimed size first; found by tests/fuzz/fuzz_image). */
    h = build_png_header(5, 5, &hn);
    uint8_t claim[8 + 25 + 20] = {0};
    memcpy(claim, h, hn);
    memcpy(claim + hn, "\x28\x00\x00\x00zTXt", 8);
    CHECK(image_load_memory(claim, sizeof claim, "ztxt.png", &im, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "ztxt.png: corrupt PNG (a chunk at byte 33 claims 671088640 bytes, the file has 12 left)"),
           "%s", err.message);
    CHECK(im.pixels == NULL);

    /* Odd name bytes are escaped in the message. */
    CHECK(image_load_memory("xx", 2, "a\nb.png", &im, &err) == GENREID_E_FORMAT);
    CHECKF(!strchr(err.message, '\n'), "%s", err.message);
    free(png);

    /* JPEG: truncated in the scan, header only, garbage after SOI, and a SOF claiming 60000 px. */
    uint8_t *jpg = test_read_file(test_data("image/dec_q85.jpg"), &n);
    CHECK(jpg != NULL);
    if (!jpg) return;
    CHECK(image_load_memory(jpg, n - 200, "cut.jpg", &im, &err) == GENREID_E_FORMAT);
    CHECKF(strstr(err.message, "cut.jpg") && strstr(err.message, "truncated"), "%s", err.message);
    CHECK(image_load_memory(jpg, 40, "head.jpg", &im, &err) == GENREID_E_FORMAT);
    CHECK(im.pixels == NULL);
    uint8_t junk[64] = {0xFF, 0xD8, 0xFF, 0x01};
    for (int i = 4; i < 64; i++) junk[i] = (uint8_t)(i * 37);
    CHECK(image_load_memory(junk, sizeof junk, "junk.jpg", &im, &err) == GENREID_E_FORMAT);
    uint8_t *big = malloc(n);
    memcpy(big, jpg, n);
    for (size_t i = 0; i + 9 < n; i++)
        if (big[i] == 0xFF && big[i + 1] == 0xC0) { /* SOF0: height at +5, width at +7 */
            big[i + 5] = 0xEA, big[i + 6] = 0x60, big[i + 7] = 0xEA, big[i + 8] = 0x60;
            break;
        }
    CHECK(image_load_memory(big, n, "bomb.jpg", &im, &err) == GENREID_E_LIMIT);
    free(big);
    free(jpg);

    /* Encoder argument checks. */
    uint8_t *o = NULL;
    size_t ol = 0;
    image none = {0};
    CHECK(image_encode_png_memory(&none, &o, &ol, &err) == GENREID_E_INVALID && o == NULL);
    image two = {2, 2, 3, (uint8_t[12]){0}};
    CHECK(image_write_png(test_path(test_tmpdir(), "no/such/dir/x.png"), &two, &err) == GENREID_E_IO);
    CHECK(image_alloc(&im, 9000, 2, 3, &err) == GENREID_E_LIMIT && im.pixels == NULL);
    CHECK(image_alloc(&im, 2, 2, 2, &err) == GENREID_E_INVALID);
}

/* The encoder's uniform-rows prefix (image.c): images whose top rows are one colour, in shapes
 * that take each path of it (remainder as match / as literals / none, whole image one colour),
 * must decode to the same pixels. */
static void test_png_uniform_rows(void) {
    static const int shapes[][4] = {/* width, height, channels, uniform top rows */
                                    {37, 9, 4, 4}, {66, 5, 4, 3}, {1, 4, 4, 2}, {5, 3, 3, 3}, {300, 6, 3, 6},
                                    {1200, 70, 4, 59}, {64, 4, 3, 0}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int w = shapes[s][0], h = shapes[s][1], ch = shapes[s][2], top = shapes[s][3];
        image img = {0}, back = {0};
        genreid_error err;
        CHECK(image_alloc(&img, w, h, ch, &err) == GENREID_OK);
        if (!img.pixels) continue;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < ch; c++)
                    img.pixels[((size_t)y * w + x) * ch + c] =
                        y < top ? (uint8_t)(c == 3 ? 255 : 40 + 70 * c) : (uint8_t)((x * 7 + y * 13 + c * 29) % 251);
        uint8_t *png = NULL;
        size_t n = 0;
        CHECK(image_encode_png_memory(&img, &png, &n, &err) == GENREID_OK);
        CHECKF(png && image_load_memory(png, n, "u.png", &back, &err) == GENREID_OK, "shape %zu: %s", s, err.message);
        int same = back.pixels && back.width == w && back.height == h;
        for (size_t i = 0; same && i < (size_t)w * h; i++)
            same = memcmp(back.pixels + i * 3, img.pixels + i * ch, 3) == 0;
        CHECKF(same, "shape %zu (%dx%dx%d, %d uniform rows): pixels differ after a round trip", s, w, h, ch, top);
        free(png);
        image_free(&img);
        image_free(&back);
    }
}

/* ---- hand-built PNGs for the decoder's libdeflate path (image.c): every row filter, IDAT split
 * into several chunks, ancillary chunks before and after, no IEND; and malformed variants, which
 * must fail as libpng words it. The pixels written are the reference. */
typedef struct pngbuf {
    uint8_t b[1 << 16];
    size_t n;
} pngbuf;

static void pb_chunk(pngbuf *p, const char *type, const uint8_t *data, size_t len) {
    uint8_t *c = p->b + p->n;
    c[0] = (uint8_t)(len >> 24), c[1] = (uint8_t)(len >> 16), c[2] = (uint8_t)(len >> 8), c[3] = (uint8_t)len;
    memcpy(c + 4, type, 4);
    if (len) memcpy(c + 8, data, len);
    uLong crc = crc32(0, c + 4, (uInt)len + 4);
    c[8 + len] = (uint8_t)(crc >> 24), c[9 + len] = (uint8_t)(crc >> 16), c[10 + len] = (uint8_t)(crc >> 8),
              c[11 + len] = (uint8_t)crc;
    p->n += 12 + len;
}

static int paeth_ref(int a, int b, int c) {
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filters row y of px (w x h x bpp) with filter f into out (f, then w*bpp bytes). */
static void filter_row(const uint8_t *px, int w, int y, int bpp, int f, uint8_t *out) {
    size_t n = (size_t)w * bpp;
    const uint8_t *r = px + (size_t)y * n, *u = y ? r - n : NULL;
    out[0] = (uint8_t)f;
    for (size_t i = 0; i < n; i++) {
        int a = i >= (size_t)bpp ? r[i - bpp] : 0, b = u ? u[i] : 0, c = u && i >= (size_t)bpp ? u[i - bpp] : 0;
        int pred = f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) >> 1 : f == 4 ? paeth_ref(a, b, c) : 0;
        out[1 + i] = (uint8_t)(r[i] - pred);
    }
}

/* Builds the PNG; bad: 0 fine, 1 filter byte 5 on row 2, 2 one row short, 3 IDAT CRC flipped,
 * 4 a suggested palette (PLTE, allowed in RGB) with its CRC flipped. */
static void build_filtered_png(pngbuf *p, const uint8_t *px, int w, int h, int bpp, int n_idat, int bad) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(p->b, sig, 8);
    p->n = 8;
    uint8_t ih[13] = {0, 0, 0, (uint8_t)w, 0, 0, 0, (uint8_t)h, 8, (uint8_t)(bpp == 4 ? 6 : 2), 0, 0, 0};
    pb_chunk(p, "IHDR", ih, 13);
    pb_chunk(p, "tEXt", (const uint8_t *)"Comment\0test", 12);
    static const uint8_t plte[6] = {0, 0, 0, 255, 255, 255};
    pb_chunk(p, "PLTE", plte, 6);
    if (bad == 4) p->b[p->n - 1] ^= 1;
    size_t stride = (size_t)w * bpp + 1, raw_n = stride * h;
    uint8_t *raw = malloc(raw_n), *z = malloc(compressBound(raw_n));
    for (int y = 0; y < h; y++) filter_row(px, w, y, bpp, y % 5, raw + (size_t)y * stride);
    if (bad == 1) raw[2 * stride] = 5;
    uLongf zn = compressBound(raw_n);
    CHECK(compress(z, &zn, raw, bad == 2 ? raw_n - stride : raw_n) == Z_OK);
    size_t at = 0;
    for (int k = 0; k < n_idat; k++) {
        size_t part = k == n_idat - 1 ? zn - at : zn / n_idat;
        pb_chunk(p, "IDAT", z + at, part);
        if (bad == 3 && k == 0) p->b[p->n - 1] ^= 1;
        at += part;
    }
    pb_chunk(p, "tEXt", (const uint8_t *)"Title\0after", 11);
    free(raw), free(z);
}

static void test_png_filters(void) {
    int w = 23, h = 17;
    for (int bpp = 3; bpp <= 4; bpp++) {
        uint8_t *px = malloc((size_t)w * h * bpp);
        for (size_t i = 0; i < (size_t)w * h * bpp; i++) px[i] = (uint8_t)((i * 2654435761u) >> 13);
        for (int n_idat = 1; n_idat <= 3; n_idat += 2) {
            pngbuf *p = malloc(sizeof *p);
            build_filtered_png(p, px, w, h, bpp, n_idat, 0);
            image im = {0};
            genreid_error err;
            CHECKF(image_load_memory(p->b, p->n, "f.png", &im, &err) == GENREID_OK, "%s", err.message);
            int same = im.pixels && im.width == w && im.height == h && im.channels == 3;
            for (size_t i = 0; same && i < (size_t)w * h; i++) same = !memcmp(im.pixels + 3 * i, px + bpp * i, 3);
            CHECKF(same, "%d-channel PNG, filters 0-4, %d IDAT: pixels differ", bpp, n_idat);
            image_free(&im);
            for (int bad = 1; bad <= 4; bad++) {
                build_filtered_png(p, px, w, h, bpp, n_idat, bad);
                CHECKF(image_load_memory(p->b, p->n, "bad.png", &im, &err) == GENREID_E_FORMAT,
                       "malformed PNG %d (%d channels, %d IDAT) not refused", bad, bpp, n_idat);
                CHECKF(!strncmp(err.message, "bad.png: corrupt PNG (", 22), "%s", err.message);
                CHECK(im.pixels == NULL);
            }
            free(p);
        }
        free(px);
    }
}

/* Fuzz: random byte flips and cuts of a PNG and a JPEG must never crash (ASan checks the rest). */
static void test_fuzz(void) {
    const char *files[] = {"image/dec_palette.png", "image/dec_q85.jpg", "image/dec_rgb16.png"};
    uint32_t s = 12345;
    int ok = 0, failed = 0;
    for (int f = 0; f < 3; f++) {
        size_t n = 0;
        uint8_t *orig = test_read_file(test_data(files[f]), &n);
        if (!orig) continue;
        uint8_t *buf = malloc(n);
        for (int it = 0; it < 300; it++) {
            memcpy(buf, orig, n);
            int flips = 1 + it % 8;
            for (int k = 0; k < flips; k++) {
                s = s * 1664525u + 1013904223u;
                buf[(s >> 8) % n] ^= (uint8_t)(1u << (s % 8));
            }
            s = s * 1664525u + 1013904223u;
            size_t len = it % 3 == 0 ? (s >> 8) % n : n;
            image im = {0};
            genreid_error err;
            genreid_status st = image_load_memory(buf, len, "fuzz", &im, &err);
            if (st == GENREID_OK) {
                ok++;
                image_free(&im);
            } else {
                failed += st == GENREID_E_FORMAT || st == GENREID_E_LIMIT || st == GENREID_E_UNSUPPORTED;
            }
        }
        free(buf);
        free(orig);
    }
    CHECKF(ok + failed == 900, "fuzz: %d ok, %d clean failures of 900", ok, failed);
}

static void test_resize(void) {
    const char *stems[] = {"s1_sine440_22050", "s2_chirp_44100", "rs_rand_37x53", "rs_grad_500x1200",
                           "rs_wide_1000x3", "rs_tiny_5x4"};
    genreid_error err;
    for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
        char p[128];
        image in = {0}, exp = {0}, out = {0};
        snprintf(p, sizeof p, "image/%s.png", stems[i]);
        CHECKF(image_load(test_data(p), &in, &err) == GENREID_OK, "%s", err.message);
        snprintf(p, sizeof p, "image/%s.192.png", stems[i]);
        CHECKF(image_load(test_data(p), &exp, &err) == GENREID_OK, "%s", err.message);
        long nd = 0;
        int mx = 0;
        for (int path = 0; path <= 3; path++) { /* every pass: scalar, SSE2, AVX2, AVX2 rows + vertical */
            resize_path = path;
            CHECK(image_resize_bilinear(&in, 192, 192, &out, &err) == GENREID_OK);
            mx = rgb_diff(&out, &exp, &nd);
            CHECKF(mx == 0, "%s 192, resize path %d: max diff %d, %ld values", stems[i], path, mx, nd);
            if (path < 3) image_free(&out);
        }
        resize_path = -1;
        printf("resize %s %dx%d -> 192x192: max diff %d, %ld differing values vs PIL\n", stems[i],
               in.width, in.height, mx, nd);
        image_free(&out);
        image_free(&exp);
        if (in.width > 400 || in.height > 400) {
            snprintf(p, sizeof p, "image/%s.pre400.png", stems[i]);
            CHECKF(image_load(test_data(p), &exp, &err) == GENREID_OK, "%s", err.message);
            CHECK(image_preresize(&in, 400, &out, &err) == GENREID_OK);
            mx = rgb_diff(&out, &exp, &nd);
            CHECKF(mx == 0 && out.channels == 3, "%s pre400: max diff %d, %ld values", stems[i], mx, nd);
            printf("preresize %s -> %dx%d: max diff %d, %ld differing values vs fastai resize_image\n",
                   stems[i], out.width, out.height, mx, nd);
            image_free(&out);
            image_free(&exp);
        }
        image_free(&in);
    }
    /* RGBA: channels are resized independently, so a 4-channel image's RGB must be the RGB
     * image's resize (checked against PIL above) and its alpha, a copy of red, the red's */
    {
        image rgb = {0}, rgba = {0}, o3 = {0}, o4 = {0};
        CHECK(image_load(test_data("image/rs_grad_500x1200.png"), &rgb, &err) == GENREID_OK);
        CHECK(image_alloc(&rgba, rgb.width, rgb.height, 4, &err) == GENREID_OK);
        for (size_t i = 0; rgb.pixels && i < (size_t)rgb.width * rgb.height; i++) {
            memcpy(rgba.pixels + 4 * i, rgb.pixels + 3 * i, 3);
            rgba.pixels[4 * i + 3] = rgb.pixels[3 * i];
        }
        CHECK(image_resize_bilinear(&rgb, 77, 301, &o3, &err) == GENREID_OK);
        CHECK(image_resize_bilinear(&rgba, 77, 301, &o4, &err) == GENREID_OK);
        int same = o3.pixels && o4.pixels && o4.channels == 4;
        for (size_t i = 0; same && i < (size_t)77 * 301; i++)
            same = !memcmp(o4.pixels + 4 * i, o3.pixels + 3 * i, 3) && o4.pixels[4 * i + 3] == o3.pixels[3 * i];
        CHECKF(same, "RGBA resize differs from the RGB resize");
        image_free(&rgb), image_free(&rgba), image_free(&o3), image_free(&o4);
    }
    /* the four resize paths on noise, every tap count the SIMD loops split differently (8, 16 + 8,
     * 32, 64, and enlarging; odd and even first taps and tap counts), row counts that are and are
     * not a multiple of the row pass's 8, widths under one 16-byte load and row lengths that are
     * not a multiple of the vertical pass's 16 bytes, 3 and 4 channels: the same bytes */
    {
        const int sizes[][4] = {{1200, 500, 128, 128}, {1200, 500, 40, 100}, {500, 300, 192, 192},
                                {37, 53, 500, 80}, {1000, 3, 31, 3}, {700, 20, 700, 9}, {3, 17, 2, 5},
                                {5, 9, 7, 9}, {1201, 501, 129, 127}};
        uint32_t r = 2463534242u;
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
            for (int ch = 3; ch <= 4; ch++) {
                image in = {0}, o[4] = {{0}};
                CHECK(image_alloc(&in, sizes[k][0], sizes[k][1], ch, &err) == GENREID_OK);
                for (size_t i = 0; in.pixels && i < (size_t)in.width * in.height * ch; i++) {
                    r ^= r << 13, r ^= r >> 17, r ^= r << 5;
                    in.pixels[i] = (uint8_t)(i % 97 < 40 ? r >> 24 : (i / 5) & 255); /* noise and ramps */
                }
                for (int path = 0; path <= 3; path++) {
                    resize_path = path;
                    CHECK(image_resize_bilinear(&in, sizes[k][2], sizes[k][3], &o[path], &err) == GENREID_OK);
                }
                resize_path = -1;
                size_t n = (size_t)sizes[k][2] * sizes[k][3] * ch;
                CHECKF(o[0].pixels && o[1].pixels && o[2].pixels && o[3].pixels && !memcmp(o[0].pixels, o[1].pixels, n) &&
                           !memcmp(o[0].pixels, o[2].pixels, n) && !memcmp(o[0].pixels, o[3].pixels, n),
                       "%dx%d -> %dx%d, %d channels: the resize paths differ", sizes[k][0], sizes[k][1], sizes[k][2],
                       sizes[k][3], ch);
                image_free(&in);
                for (int path = 0; path <= 3; path++) image_free(&o[path]);
            }
    }
    int w, h;
    resize_fit_size(1200, 500, 400, &w, &h);
    CHECK(w == 400 && h == 166);
    resize_fit_size(200, 500, 400, &w, &h); /* fastai's own doctest: (160, 400) */
    CHECK(w == 160 && h == 400);
    /* Small image: copied as RGB, not resized. */
    image s = {0}, o = {0};
    CHECK(image_alloc(&s, 10, 7, 4, &err) == GENREID_OK);
    for (int i = 0; i < 10 * 7 * 4; i++) s.pixels[i] = (uint8_t)(i * 7);
    CHECK(image_preresize(&s, 400, &o, &err) == GENREID_OK);
    CHECK(o.width == 10 && o.height == 7 && o.channels == 3 && o.pixels[3] == s.pixels[4]);
    image_free(&o);
    CHECK(image_resize_bilinear(&s, 0, 10, &o, &err) == GENREID_E_INVALID && o.pixels == NULL);
    CHECK(resize_new(10, 10, 9000, 10, &err) == NULL && err.code == GENREID_E_INVALID);
    resize_plan *pl = resize_new(10, 7, 5, 5, &err);
    image wrong = {0};
    CHECK(image_alloc(&wrong, 6, 5, 4, &err) == GENREID_OK);
    CHECK(resize_run(pl, &s, &wrong, NULL, &err) == GENREID_E_INVALID);
    resize_free(pl);
    resize_free(NULL);
    image_free(&wrong);
    image_free(&s);
}

static void test_normalise(void) {
    genreid_error err;
    image im = {0};
    npy_array ref = {0};
    CHECK(image_load(test_data("image/norm_7x5.png"), &im, &err) == GENREID_OK);
    CHECK(npy_read(test_data("image/norm_7x5.npy"), &ref, &err) == GENREID_OK);
    if (!im.pixels || !ref.data) return;
    CHECK(ref.ndim == 3 && ref.shape[0] == 3 && ref.shape[1] == 5 && ref.shape[2] == 7);
    float out[3 * 5 * 7];
    CHECK(image_to_tensor_normalized(&im, out, &err) == GENREID_OK);
    int exact = 0;
    double mx = 0;
    for (int i = 0; i < 105; i++) {
        exact += memcmp(&out[i], &ref.data[i], 4) == 0;
        double d = fabs((double)out[i] - ref.data[i]);
        mx = d > mx ? d : mx;
    }
    CHECKF(exact == 105, "normalised tensor: %d of 105 bit-exact vs torch, max diff %g", exact, mx);
    /* every byte value in every channel (the conversion goes through a per-channel table) */
    {
        image all = {0};
        npy_array r2 = {0};
        CHECK(image_load(test_data("image/norm_all_16x16.png"), &all, &err) == GENREID_OK);
        CHECK(npy_read(test_data("image/norm_all_16x16.npy"), &r2, &err) == GENREID_OK);
        if (all.pixels && r2.data && r2.ndim == 3 && r2.shape[0] == 3 && r2.shape[1] == 16 && r2.shape[2] == 16) {
            float o2[3 * 256];
            CHECK(image_to_tensor_normalized(&all, o2, &err) == GENREID_OK);
            int same = 0;
            for (int i = 0; i < 3 * 256; i++) same += memcmp(&o2[i], &r2.data[i], 4) == 0;
            CHECKF(same == 3 * 256, "normalised tensor, every byte value: %d of 768 bit-exact vs torch", same);
        } else {
            CHECKF(0, "norm_all_16x16 fixture unreadable");
        }
        image_free(&all);
        npy_free(&r2);
    }
    /* Hand value: 0 in red → (0 - 0.485) / 0.229. */
    image z = {1, 1, 3, (uint8_t[3]){0, 255, 128}};
    float zo[3];
    CHECK(image_to_tensor_normalized(&z, zo, &err) == GENREID_OK);
    CHECK(fabsf(zo[0] - (-0.485f / 0.229f)) < 1e-6f && fabsf(zo[1] - (0.544f / 0.224f)) < 1e-5f);
    CHECK(image_to_tensor_normalized(NULL, zo, &err) == GENREID_E_INVALID);
    image_free(&im);
    npy_free(&ref);
}

int main(void) {
    test_colormaps();
    test_cell_maps();
    test_render_reference("s1_sine440_22050");
    test_render_reference("s2_chirp_44100");
    test_render_edges();
    test_decoders();
    test_hostile();
    test_png_uniform_rows();
    test_png_filters();
    test_fuzz();
    test_resize();
    test_normalise();
    TEST_END();
}
