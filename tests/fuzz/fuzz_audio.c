/* tests/fuzz/fuzz_audio.c — audio_load_memory (audio/audio.h): every format libsndfile reads from
 * memory (WAV, FLAC, Ogg Vorbis/Opus, AIFF, MP3, ...). The file's last byte also picks options, so
 * the seek/window and resampling paths run too (the byte stays part of the file):
 *   bit 0: resample to 22050 Hz; bit 1: offset 0.25 s, duration 0.5 s;
 *   bit 2 without bit 0: the default options (up to an hour, what genreid_predict_memory uses);
 *          else at most 20 s, so that a header that claims a long file is refused before decoding.
 *          Resampling keeps the 20-s limit: an hour at a 1-Hz rate resampled to 22050 Hz is 79M
 *          samples, tens of seconds of soxr under ASan, within the documented limit.
 * Promises checked: a failure leaves *out_mono NULL, *out_n 0, with a message; a success has
 * samples (NULL only for an empty window) at the rate asked for, every one readable. */
#include "fuzz.h"
#include "audio/audio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned flags = size ? data[size - 1] : 0;
    audio_options o = audio_options_default();
    if (!(flags & 4) || (flags & 1)) o.max_duration_s = 20;
    if (flags & 1) o.target_sr = 22050;
    if (flags & 2) o.offset_s = 0.25, o.duration_s = 0.5;

    genreid_error err;
    fuzz_err_init(&err);
    float *y = (float *)1;
    size_t n = 12345;
    int sr = -1;
    genreid_status st = audio_load_memory(data, size, "fuzz.audio", &o, &y, &n, &sr, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(y == NULL && n == 0);
        return 0;
    }
    FUZZ_REQUIRE(sr > 0 && sr <= AUDIO_MAX_SAMPLE_RATE_HZ);
    if (o.target_sr) FUZZ_REQUIRE(sr == o.target_sr);
    FUZZ_REQUIRE((y == NULL) == (n == 0));
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += y[i] * 0.0f; /* every sample readable */
    (void)acc;
    free(y);
    return 0;
}
