/* audio/audio.h — decode an audio file (or an in-memory image of one) to a mono float32 signal,
 * exactly as librosa 0.11 `librosa.load(path, sr=..., mono=True, offset=..., duration=...)` does
 * through python-soundfile / libsndfile 1.2:
 *   - frames are read with sf_readf_float (libsndfile's own int→float scaling, MP3 via libmpg123);
 *   - mono = numpy's mean over channels in float32: ((c0 + c1) + c2 ...) / C, summed in channel
 *     order, one float32 rounding per step (np.mean(y, axis=0) on a (C, N) float32 array);
 *   - offset: seek to int(offset_s * sr) frames; duration: read int(duration_s * sr) frames
 *     (truncation, as librosa's __soundfile_load);
 *   - resampling (target_sr != native) with libsoxr at SOXR_HQ, float32 in and out, as librosa's
 *     default res_type='soxr_hq' through python-soxr 0.3.7; output length ceil(n * target / native)
 *     (librosa.resample's n_samples, then fix_length).
 * Left out: negative offsets (librosa 0.11 seeks from the end; we reject them), dtype other than
 * float32, multichannel output, the audioread fallback (formats libsndfile cannot read fail here).
 * Reference: ../shared/reference/NAME.y.npy and NAME.y_22050.npy; tests in tests/audio/test_audio.c
 * and tests/shared/test_reference.c.
 */
#ifndef GENREID_AUDIO_AUDIO_H
#define GENREID_AUDIO_AUDIO_H

#include <stddef.h>
#include "core/error.h"

#define AUDIO_MAX_SAMPLE_RATE_HZ 768000   /* a header claiming more is treated as corrupt */
#define AUDIO_MAX_CHANNELS 64             /* more channels than this: unsupported */

typedef struct audio_options {
    double offset_s;       /* start of the read, seconds (>= 0); 0: from the start */
    double duration_s;     /* seconds to read; <= 0: to the end */
    int target_sr;         /* output sample rate in Hz; 0: the file's native rate */
    double max_duration_s; /* refuse (GENREID_E_LIMIT) files whose header says they are longer,
                              checked before any decoding or allocation; <= 0: no limit */
} audio_options;

/* {offset 0, duration all, native rate, max 3600 s}. */
audio_options audio_options_default(void);

/* Decodes the file at path. On success *out_mono holds *out_n float32 samples (malloc'ed, the
 * caller frees; NULL when *out_n is 0, which only happens for an offset/duration window past the
 * end) at *out_sr Hz. opt may be NULL (defaults). On failure returns a GENREID_E_* code, leaves
 * *out_mono NULL and fills err with "PATH: problem":
 *   GENREID_E_IO      missing, unreadable, a directory;
 *   GENREID_E_FORMAT  empty (0 bytes), not audio, truncated, corrupt, 0 frames, 0 channels,
 *                     sample rate 0 or > AUDIO_MAX_SAMPLE_RATE_HZ;
 *   GENREID_E_LIMIT   longer than opt->max_duration_s;
 *   GENREID_E_INVALID bad options (negative offset, target_sr < 0 or too large). */
genreid_status audio_load(const char *path, const audio_options *opt, float **out_mono,
                          size_t *out_n, int *out_sr, genreid_error *err);

/* The same from a memory image of a file (buf, len bytes; not modified, not kept), read through
 * libsndfile's virtual I/O. name is only used in messages. audio_load reads a regular file
 * through a read buffer instead (no copy of big files in memory), a pipe or device into memory
 * first (at most 1 GiB); all then run the same checks and decoder, so they give the same samples
 * and the same errors. Both refuse (GENREID_E_FORMAT) a RIFF file whose LIST chunk would make
 * libsndfile 1.2's sf_open loop forever (a sub-chunk size that wraps its 32-bit count). */
genreid_status audio_load_memory(const void *buf, size_t len, const char *name,
                                 const audio_options *opt, float **out_mono, size_t *out_n,
                                 int *out_sr, genreid_error *err);

/* Resamples x (n samples at in_sr) to out_sr with libsoxr SOXR_HQ, float32, as librosa.resample
 * (res_type='soxr_hq'). *out (malloc'ed) gets exactly ceil(n * out_sr / in_sr) samples. */
genreid_status audio_resample(const float *x, size_t n, int in_sr, int out_sr, float **out,
                              size_t *out_n, genreid_error *err);

#endif
