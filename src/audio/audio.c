/* audio/audio.c — librosa.load through libsndfile (+ libsoxr): see audio.h for the conventions
 * matched (sf_readf_float, float32 channel mean, int() offsets, soxr_hq). Checks every header field
 * against limits before allocating; short reads and decoder errors become "truncated"/"corrupt".
 * Left out: negative offsets, the audioread fallback. Reference: ../shared/reference *.y.npy. */
#include "audio/audio.h"
#include "core/error.h"
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define AUDIO_CHUNK_FRAMES 8192
/* A pipe or device is read into memory first (load_stream): an hour of 48-kHz stereo 24-bit WAV
 * is 1.04 GB. */
#define AUDIO_MAX_STREAM_BYTES ((size_t)1 << 30)
/* The output grows from this many frames (doubling, up to the header's count) as audio is
 * decoded: a 46-byte FLAC header may claim an hour at 400 kHz, and allocating that up front made
 * memory follow the header's claim rather than the data (found by tests/fuzz/fuzz_audio). */
#define AUDIO_FIRST_ALLOC_FRAMES ((size_t)1 << 20)

audio_options audio_options_default(void) {
    audio_options o = {0.0, 0.0, 0, 3600.0};
    return o;
}

/* ---- libsndfile virtual I/O over a memory buffer ---- */
typedef struct mem_io {
    const unsigned char *buf;
    sf_count_t len, pos;
} mem_io;

/* lseek's rule for both virtual I/Os: past the end is allowed, reads there return 0. */
static sf_count_t seek_in(sf_count_t *pos, sf_count_t len, sf_count_t off, int whence) {
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? *pos : len;
    sf_count_t p = base + off;
    if (p < 0) return -1;
    *pos = p;
    return p;
}

static sf_count_t mem_len(void *u) { return ((mem_io *)u)->len; }
static sf_count_t mem_seek(sf_count_t off, int whence, void *u) {
    mem_io *m = u;
    return seek_in(&m->pos, m->len, off, whence);
}
static sf_count_t mem_read(void *ptr, sf_count_t count, void *u) {
    mem_io *m = u;
    if (count <= 0 || m->pos >= m->len) return 0;
    sf_count_t k = m->len - m->pos < count ? m->len - m->pos : count;
    memcpy(ptr, m->buf + m->pos, (size_t)k);
    m->pos += k;
    return k;
}
static sf_count_t mem_write(const void *ptr, sf_count_t count, void *u) {
    (void)ptr; (void)count; (void)u;
    return 0;
}
static sf_count_t mem_tell(void *u) { return ((mem_io *)u)->pos; }

/* ---- libsndfile virtual I/O over a regular file, through a read buffer ----
 * sf_open_fd reads with one read() per request, and libmpg123 asks for each frame's header and
 * body apart, twice over (mpg123_scan for the length, then the decode): 1300 syscalls for a 15-s
 * mp3. pread into FILE_IO_BUF bytes makes it a handful. */
#define FILE_IO_BUF ((size_t)64 << 10)
typedef struct file_io {
    int fd;
    sf_count_t len, pos;
    unsigned char *buf;
    sf_count_t buf_at; /* file offset of buf[0] */
    size_t buf_n;      /* valid bytes in buf */
} file_io;

static sf_count_t file_len(void *u) { return ((file_io *)u)->len; }
static sf_count_t file_seek(sf_count_t off, int whence, void *u) {
    file_io *f = u;
    return seek_in(&f->pos, f->len, off, whence);
}
/* pread until n bytes, end of file or an error; returns the bytes read. */
static size_t pread_full(int fd, void *dst, size_t n, sf_count_t at) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (unsigned char *)dst + got, n - got, (off_t)(at + (sf_count_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}
static sf_count_t file_read(void *ptr, sf_count_t count, void *u) {
    file_io *f = u;
    unsigned char *dst = ptr;
    sf_count_t done = 0;
    while (done < count) {
        sf_count_t at = f->pos;
        if (at >= f->buf_at && at < f->buf_at + (sf_count_t)f->buf_n) {
            size_t off = (size_t)(at - f->buf_at), k = f->buf_n - off;
            if ((sf_count_t)k > count - done) k = (size_t)(count - done);
            memcpy(dst + done, f->buf + off, k);
            done += (sf_count_t)k;
            f->pos += (sf_count_t)k;
            continue;
        }
        if ((size_t)(count - done) >= FILE_IO_BUF) { /* large reads straight into the caller's buffer */
            size_t k = pread_full(f->fd, dst + done, (size_t)(count - done), at);
            done += (sf_count_t)k;
            f->pos += (sf_count_t)k;
            break;
        }
        f->buf_at = at;
        f->buf_n = pread_full(f->fd, f->buf, FILE_IO_BUF, at);
        if (f->buf_n == 0) break;
    }
    return done;
}
static sf_count_t file_tell(void *u) { return ((file_io *)u)->pos; }


static genreid_status check_options(const audio_options *o, const char *nm, genreid_error *err) {
    if (!(o->offset_s >= 0) || !isfinite(o->offset_s))
        return err_set(err, GENREID_E_INVALID, "%s: offset must be a finite number >= 0 s (got %g)", nm, o->offset_s);
    if (isnan(o->duration_s) || isinf(o->duration_s))
        return err_set(err, GENREID_E_INVALID, "%s: duration must be finite (got %g)", nm, o->duration_s);
    if (o->target_sr < 0 || o->target_sr > AUDIO_MAX_SAMPLE_RATE_HZ)
        return err_set(err, GENREID_E_INVALID, "%s: target sample rate %d Hz out of range 0..%d", nm,
                       o->target_sr, AUDIO_MAX_SAMPLE_RATE_HZ);
    return GENREID_OK;
}

/* ---- a libsndfile 1.2 hang, refused before libsndfile sees the file ----
 * wavlike_subchunk_parse (the LIST and INFO chunks of WAV and RF64) adds each sub-chunk's size
 * to a 32-bit count of the bytes read and only then compares the count with the chunk length, so
 * a size within a chunk length of 2^32 wraps the count backwards and sf_open loops forever on the
 * same bytes (a 188-byte WAV found by tests/fuzz/fuzz_audio; upstream libsndfile issue 1118 is
 * this loop). Where libsndfile's walk meets a LIST depends on its resynchronisation rules, and
 * where inside the chunk a size sits depends on the sizes before it, so every "LIST" and "INFO"
 * at any offset outside the audio payload is checked, and any 32-bit value that the parser could
 * take for a size (one starting in the chunk or in the 2 bytes after it: its last read begins
 * before the chunk's end) refuses the file if it would wrap the count. Such values lie within a
 * chunk length of 0xFFFFFFFF: no text, and no size in a well-formed chunk, is one. The payload of
 * the data chunk (found by the RIFF layout) is skipped: samples can spell "LIST", and libsndfile
 * seeks over them. */
static uint32_t read_u32(const unsigned char *p, int big_endian) {
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* The guard reads the file through views: up to GUARD_VIEW bytes at an offset, valid until the
 * next view of the same slot (slot 0 walks the file, slot 1 reads a chunk or a field beside the
 * walk). A memory image is its own view; a file is read into one buffer per slot. */
#define GUARD_VIEW FILE_IO_BUF /* a file's slot 0 is file_io's buffer */
typedef struct guard_src {
    const unsigned char *mem; /* the image, or NULL for a file */
    int fd;
    uint64_t len;
    unsigned char *slot[2]; /* GUARD_VIEW bytes each (files only) */
    uint64_t budget;        /* bytes the chunk checks may still read */
} guard_src;

/* n bytes at off (the caller keeps off + n <= len and n <= GUARD_VIEW); NULL if unreadable. */
static const unsigned char *guard_view(guard_src *g, int slot, uint64_t off, size_t n) {
    if (g->mem) return g->mem + off;
    return pread_full(g->fd, g->slot[slot], n, (sf_count_t)off) == n ? g->slot[slot] : NULL;
}

/* 1 if a value libsndfile could take for a size in the chunk whose marker is at p would wrap its
 * count, 0 if none would, -1 if the file could not be read, -2 if the budget ran out. */
static int list_chunk_hangs(guard_src *g, uint64_t p, int big) {
    uint64_t body = p + 8; /* after the marker and the size */
    if (body + 4 > g->len) return 0;
    const unsigned char *h = guard_view(g, 1, p + 4, 4);
    if (!h) return -1;
    uint32_t declared = read_u32(h, big);
    if (declared <= 8) return 0; /* libsndfile's "weird length" branch reads no sizes */
    /* libsndfile clamps the chunk to the file; when it adds a size its count is at most the
     * chunk length + 6 (even counts below the length, then a marker and a size) */
    const uint64_t wrap = (uint64_t)1 << 32;
    uint64_t chunk = declared < g->len - body ? declared : g->len - body;
    uint64_t end = body + chunk + 2 + 4 < g->len ? body + chunk + 2 + 4 : g->len; /* last value's end */
    if (end - body > g->budget) return -2;
    g->budget -= end - body;
    for (uint64_t at = body; at + 4 <= end; at += GUARD_VIEW - 3) {
        size_t n = end - at < GUARD_VIEW ? (size_t)(end - at) : GUARD_VIEW;
        const unsigned char *v = guard_view(g, 1, at, n);
        if (!v) return -1;
        for (size_t q = 0; q + 4 <= n; q++) {
            uint32_t x = read_u32(v + q, big);
            uint64_t padded = (uint64_t)x + (x & 1);
            if (padded < wrap && padded + chunk + 8 >= wrap) return 1;
        }
    }
    return 0;
}

/* [*d0, *d1): the payload of the first data chunk, by the RIFF layout and libsndfile's rules
 * for its length (wav.c, rf64.c), so [*d0, *d1) is what libsndfile seeks over; empty if none. */
static int find_data_payload(guard_src *g, int big, int rf64, uint64_t *d0, uint64_t *d1) {
    *d0 = *d1 = 0;
    const unsigned char *h = guard_view(g, 0, 4, 4);
    if (!h) return -1;
    uint32_t riff_size = read_u32(h, big);
    uint64_t ds64_data = 0;
    int have_ds64 = 0;
    for (uint64_t pos = 12; pos + 8 <= g->len;) {
        if (!(h = guard_view(g, 0, pos, 8))) return -1;
        uint32_t size = read_u32(h + 4, big);
        if (rf64 && memcmp(h, "ds64", 4) == 0 && size >= 16 && pos + 24 <= g->len && !have_ds64) {
            const unsigned char *d = guard_view(g, 1, pos + 16, 8); /* after riffSize: dataSize */
            if (!d) return -1;
            ds64_data = (uint64_t)read_u32(d + 4, 0) << 32 | read_u32(d, 0);
            have_ds64 = 1;
        }
        if (memcmp(h, "data", 4) == 0) {
            *d0 = pos + 8;
            uint64_t n = size;
            if (rf64) n = have_ds64 ? ds64_data : size == 0xFFFFFFFFu ? 0 : size;
            else if (size == 0 && riff_size == 8) n = g->len; /* a WAV never closed: data to the end */
            *d1 = n > g->len - *d0 ? g->len : *d0 + n;        /* libsndfile clamps to the file */
            return 0;
        }
        pos += 8 + (uint64_t)size + (size & 1);
    }
    return 0;
}

/* The offset of the first LIST/INFO chunk that would hang libsndfile; -1 if none, -2 if the
 * file could not be read, -3 if it holds more chunks to check than any real file (the checks may
 * read 8 times the file, so that a file of nothing but LIST markers costs linear time), -4 out of
 * memory. Only RIFF, RIFX and RF64 files go through wavlike_subchunk_parse. For a file, slot 0
 * must be given; slot 1 is allocated here when needed (the caller frees it). */
static long long riff_list_hang_offset(guard_src *g) {
    if (g->len < 12) return -1;
    const unsigned char *head = guard_view(g, 0, 0, 4);
    if (!head) return -2;
    if (memcmp(head, "RIFF", 4) && memcmp(head, "RIFX", 4) && memcmp(head, "RF64", 4)) return -1;
    const int big = memcmp(head, "RIFX", 4) == 0, rf64 = memcmp(head, "RF64", 4) == 0;
    if (!g->mem && !g->slot[1] && !(g->slot[1] = malloc(GUARD_VIEW))) return -4;
    uint64_t d0, d1;
    if (find_data_payload(g, big, rf64, &d0, &d1)) return -2;
    g->budget = 8 * g->len + ((uint64_t)1 << 20);
    for (uint64_t at = 0; at + 4 <= g->len;) {
        if (at >= d0 && at < d1) at = d1; /* markers starting in the payload are samples */
        if (at + 4 > g->len) break;
        uint64_t stop = g->len; /* a marker may start before the payload and end in it */
        if (at < d0 && d0 + 3 < stop) stop = d0 + 3;
        size_t n = stop - at < GUARD_VIEW ? (size_t)(stop - at) : GUARD_VIEW;
        const unsigned char *v = guard_view(g, 0, at, n);
        if (!v) return -2;
        for (size_t q = 0; q + 4 <= n; q++) {
            if (memcmp(v + q, "LIST", 4) && memcmp(v + q, "INFO", 4)) continue;
            int r = list_chunk_hangs(g, at + q, big);
            if (r) return r == 1 ? (long long)(at + q) : r == -1 ? -2 : -3;
        }
        at += n - 3;
    }
    return -1;
}

/* The guard's verdict as an error; GENREID_OK if libsndfile may open the file. */
static genreid_status list_guard_verdict(long long at, const char *nm, genreid_error *err) {
    if (at == -1) return GENREID_OK;
    if (at == -2) return err_set(err, GENREID_E_IO, "%s: read error while checking the RIFF chunks", nm);
    if (at == -3) return err_set(err, GENREID_E_FORMAT, "%s: corrupt RIFF file (far more LIST chunks than audio)", nm);
    if (at == -4) return err_set(err, GENREID_E_NOMEM, "%s: out of memory", nm);
    return err_set(err, GENREID_E_FORMAT,
                   "%s: corrupt RIFF file (a sub-chunk of the LIST chunk at byte %lld claims about 4 GiB)", nm, at);
}

/* libsndfile's reason for a failed open, mapped to our codes. */
static genreid_status open_error(SNDFILE *sf, const char *nm, genreid_error *err) {
    int e = sf_error(sf);
    const char *why = sf_strerror(sf);
    if (e == SF_ERR_UNRECOGNISED_FORMAT)
        return err_set(err, GENREID_E_FORMAT, "%s: not a supported audio file (%s)", nm, why);
    return err_set(err, GENREID_E_FORMAT, "%s: corrupt or unreadable audio (%s)", nm, why);
}

/* libsndfile quietly shortens a WAV/AIFF whose data chunk runs past the end of the file; its log
 * keeps the evidence as "data : CLAIMED (should be ACTUAL)". CLAIMED 0 or 0xFFFFFFFF is the
 * placeholder of streamed files, not a truncation. Returns 1 if the data chunk was cut short. */
static int log_says_truncated(SNDFILE *sf) {
    char log[8192];
    log[0] = 0;
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    log[sizeof log - 1] = 0;
    for (const char *line = log; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, "data :", 6) != 0 && strncmp(line, "SSND :", 6) != 0) continue;
        unsigned long long claimed = 0, actual = 0;
        if (sscanf(line + 6, " %llu (should be %llu)", &claimed, &actual) == 2 && actual < claimed &&
            claimed != 0xFFFFFFFFull && claimed != 0)
            return 1;
    }
    return 0;
}

/* The one decoder behind audio_load and audio_load_memory. Takes ownership of sf. */
static genreid_status decode(SNDFILE *sf, const SF_INFO *info, const char *nm, const audio_options *o,
                             float **out_mono, size_t *out_n, int *out_sr, genreid_error *err) {
    float *y = NULL, *buf = NULL;
    genreid_status st = GENREID_OK;
    const int C = info->channels;
    const int sr = info->samplerate;

    if (C <= 0) { st = err_set(err, GENREID_E_FORMAT, "%s: header claims %d channels", nm, C); goto beach; }
    if (C > AUDIO_MAX_CHANNELS) {
        st = err_set(err, GENREID_E_UNSUPPORTED, "%s: %d channels (at most %d supported)", nm, C, AUDIO_MAX_CHANNELS);
        goto beach;
    }
    if (sr <= 0 || sr > AUDIO_MAX_SAMPLE_RATE_HZ) {
        st = err_set(err, GENREID_E_FORMAT, "%s: header claims an invalid sample rate of %d Hz", nm, sr);
        goto beach;
    }
    if (info->frames <= 0) { st = err_set(err, GENREID_E_FORMAT, "%s: no audio frames", nm); goto beach; }
    /* SF_COUNT_MAX: libsndfile found no end (an Ogg stream without its last page, ...). */
    if (info->frames == SF_COUNT_MAX) {
        st = err_set(err, GENREID_E_FORMAT, "%s: truncated or corrupt: the stream has no readable end", nm);
        goto beach;
    }
    if (log_says_truncated(sf)) {
        st = err_set(err, GENREID_E_FORMAT, "%s: truncated: the data chunk is shorter than its header says", nm);
        goto beach;
    }
    /* The header's length, before any decoding or allocation. */
    double total_s = (double)info->frames / sr;
    if (o->max_duration_s > 0 && total_s > o->max_duration_s) {
        st = err_set(err, GENREID_E_LIMIT, "%s: %.1f s long, more than the %g s limit", nm, total_s, o->max_duration_s);
        goto beach;
    }

    /* librosa: sf_desc.seek(int(offset * sr)); frames = int(duration * sr) */
    sf_count_t start = (sf_count_t)(o->offset_s * sr);
    if (start > info->frames) {
        st = err_set(err, GENREID_E_INVALID, "%s: offset %.3f s is past the end (%.3f s)", nm, o->offset_s, total_s);
        goto beach;
    }
    sf_count_t count = info->frames - start;
    if (o->duration_s > 0) {
        double want = o->duration_s * sr;
        if (want < (double)count) count = (sf_count_t)want;
    }
    if (start > 0 && sf_seek(sf, start, SEEK_SET) != start) {
        st = err_set(err, GENREID_E_FORMAT, "%s: cannot seek to %.3f s (%s)", nm, o->offset_s, sf_strerror(sf));
        goto beach;
    }
    if ((uint64_t)count > SIZE_MAX / sizeof(float)) {
        st = err_set(err, GENREID_E_LIMIT, "%s: too many frames", nm);
        goto beach;
    }
    size_t cap = (size_t)count < AUDIO_FIRST_ALLOC_FRAMES ? (size_t)count : AUDIO_FIRST_ALLOC_FRAMES;
    if (count > 0) {
        y = malloc(cap * sizeof(float));
        buf = malloc((size_t)AUDIO_CHUNK_FRAMES * (size_t)C * sizeof(float));
        if (!y || !buf) { st = err_set(err, GENREID_E_NOMEM, "%s: out of memory for %lld frames", nm, (long long)count); goto beach; }
    }

    sf_count_t done = 0;
    while (done < count) {
        sf_count_t want = count - done < AUDIO_CHUNK_FRAMES ? count - done : AUDIO_CHUNK_FRAMES;
        if ((size_t)(done + want) > cap) {   /* want <= cap, so one doubling is enough */
            size_t ncap = cap > (size_t)count / 2 ? (size_t)count : cap * 2;
            float *ny = realloc(y, ncap * sizeof(float));
            if (!ny) { st = err_set(err, GENREID_E_NOMEM, "%s: out of memory for %lld frames", nm, (long long)count); goto beach; }
            y = ny;
            cap = ncap;
        }
        sf_count_t got = sf_readf_float(sf, buf, want);
        if (got < 0) got = 0;
        /* numpy mean over axis 0 of a (C, N) float32 array: rows added in order in float32, then
         * divided by C in float32. For C == 1 librosa never calls mean (y is 1-D): plain copy. */
        if (C == 1) {
            memcpy(y + done, buf, (size_t)got * sizeof(float));
        } else {
            const float inv_c = (float)C;
            sf_count_t i = 0;
#if defined(__x86_64__)
            if (C == 2) { /* most files: SSE2, the same two float ops per sample (was 5% of a clip's spectrogram) */
                const __m128 cv = _mm_set1_ps(inv_c);
                for (; i + 4 <= got; i += 4) {
                    __m128 a = _mm_loadu_ps(buf + 2 * i), b = _mm_loadu_ps(buf + 2 * i + 4);
                    __m128 l = _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)), r = _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
                    _mm_storeu_ps(y + done + i, _mm_div_ps(_mm_add_ps(l, r), cv));
                }
            }
#endif
            for (; i < got; i++) {
                const float *f = buf + (size_t)i * C;
                float acc = f[0];
                for (int c = 1; c < C; c++) acc += f[c];
                y[done + i] = acc / inv_c;
            }
        }
        done += got;
        if (got < want) {
            int e = sf_error(sf);
            if (e != SF_ERR_NO_ERROR)
                st = err_set(err, GENREID_E_FORMAT, "%s: corrupt audio data after %.3f s (%s)", nm,
                             (double)(start + done) / sr, sf_strerror(sf));
            else
                st = err_set(err, GENREID_E_FORMAT, "%s: truncated or corrupt: header promises %.3f s, audio ends at %.3f s", nm,
                             total_s, (double)(start + done) / sr);
            goto beach;
        }
    }
    free(buf);
    buf = NULL;
    sf_close(sf);
    sf = NULL;

    size_t n = (size_t)count;
    int rate = sr;
    if (o->target_sr > 0 && o->target_sr != sr && n > 0) {
        float *r = NULL;
        size_t rn = 0;
        st = audio_resample(y, n, sr, o->target_sr, &r, &rn, err);
        if (st != GENREID_OK) { err_prefix(err, nm); goto beach; }
        free(y);
        y = r;
        n = rn;
        rate = o->target_sr;
    } else if (o->target_sr > 0) {
        rate = o->target_sr;
    }
    *out_mono = y;
    *out_n = n;
    *out_sr = rate;
    return GENREID_OK;

beach:
    free(y);
    free(buf);
    if (sf) sf_close(sf);
    return st;
}

genreid_status audio_load_memory(const void *buf, size_t len, const char *name, const audio_options *opt,
                                 float **out_mono, size_t *out_n, int *out_sr, genreid_error *err) {
    audio_options o = opt ? *opt : audio_options_default();
    char nm[300]; /* the name, escaped once for every message below */
    err_escape(name ? name : "(null)", nm, sizeof nm);
    if (!out_mono || !out_n || !out_sr) return err_set(err, GENREID_E_INVALID, "%s: NULL output pointer", nm);
    *out_mono = NULL;
    *out_n = 0;
    *out_sr = 0;
    genreid_status st = check_options(&o, nm, err);
    if (st) return st;
    if (!buf && len) return err_set(err, GENREID_E_INVALID, "%s: NULL buffer", nm);
    if (len == 0) return err_set(err, GENREID_E_FORMAT, "%s: empty file (0 bytes)", nm);
    if ((uint64_t)len > (uint64_t)INT64_MAX) return err_set(err, GENREID_E_LIMIT, "%s: buffer too large", nm);

    guard_src g = {buf, -1, (uint64_t)len, {NULL, NULL}, 0};
    st = list_guard_verdict(riff_list_hang_offset(&g), nm, err);
    if (st) return st;

    mem_io m = {buf, (sf_count_t)len, 0};
    SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
    if (!sf) return open_error(NULL, nm, err);
    return decode(sf, &info, nm, &o, out_mono, out_n, out_sr, err);
}

/* Pipes and devices: read whole into memory (core/file.h), then as audio_load_memory, so that
 * they pass the same checks (libsndfile cannot seek a pipe, and the LIST guard reads the file
 * twice). Closes fd. */
static genreid_status load_stream(int fd, const char *path, const char *nm, const audio_options *o,
                                  float **out_mono, size_t *out_n, int *out_sr, genreid_error *err) {
    void *buf;
    size_t len;
    genreid_status st = read_all_fd(fd, path, AUDIO_MAX_STREAM_BYTES, &buf, &len, err);
    if (st) return st;
    if (len == 0) st = err_set(err, GENREID_E_FORMAT, "%s: empty file (0 bytes)", nm);
    else st = audio_load_memory(buf, len, path, o, out_mono, out_n, out_sr, err);
    free(buf);
    return st;
}

genreid_status audio_load(const char *path, const audio_options *opt, float **out_mono, size_t *out_n,
                          int *out_sr, genreid_error *err) {
    audio_options o = opt ? *opt : audio_options_default();
    char nm[300]; /* the name, escaped once for every message below */
    err_escape(path ? path : "(null)", nm, sizeof nm);
    if (!out_mono || !out_n || !out_sr) return err_set(err, GENREID_E_INVALID, "%s: NULL output pointer", nm);
    *out_mono = NULL;
    *out_n = 0;
    *out_sr = 0;
    if (!path) return err_set(err, GENREID_E_INVALID, "(null): no path given");
    genreid_status st = check_options(&o, nm, err);
    if (st) return st;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_set(err, GENREID_E_IO, "%s: cannot open: %s", nm, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int en = errno;
        close(fd);
        return err_set(err, GENREID_E_IO, "%s: cannot stat: %s", nm, strerror(en));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return err_set(err, GENREID_E_IO, "%s: is a directory", nm);
    }
    if (S_ISREG(sb.st_mode) && sb.st_size == 0) {
        close(fd);
        return err_set(err, GENREID_E_FORMAT, "%s: empty file (0 bytes)", nm);
    }
    if (!S_ISREG(sb.st_mode)) return load_stream(fd, path, nm, &o, out_mono, out_n, out_sr, err); /* closes fd */
    file_io f = {fd, (sf_count_t)sb.st_size, 0, malloc(FILE_IO_BUF), 0, 0};
    if (!f.buf) {
        close(fd);
        return err_set(err, GENREID_E_NOMEM, "%s: out of memory", nm);
    }
    guard_src g = {NULL, fd, (uint64_t)sb.st_size, {f.buf, NULL}, 0};
    st = list_guard_verdict(riff_list_hang_offset(&g), nm, err);
    free(g.slot[1]);
    if (!st) {
        SF_VIRTUAL_IO vio = {file_len, file_seek, file_read, mem_write, file_tell};
        SF_INFO info;
        memset(&info, 0, sizeof info);
        SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &f);
        if (!sf) st = open_error(NULL, nm, err);
        else st = decode(sf, &info, nm, &o, out_mono, out_n, out_sr, err); /* closes sf */
    }
    free(f.buf);
    close(fd);
    return st;
}

#define RESAMPLE_SLACK 16 /* floats */

genreid_status audio_resample(const float *x, size_t n, int in_sr, int out_sr, float **out, size_t *out_n,
                              genreid_error *err) {
    if (!out || !out_n) return err_set(err, GENREID_E_INVALID, "resample: NULL output pointer");
    *out = NULL;
    *out_n = 0;
    if (in_sr <= 0 || out_sr <= 0 || in_sr > AUDIO_MAX_SAMPLE_RATE_HZ || out_sr > AUDIO_MAX_SAMPLE_RATE_HZ)
        return err_set(err, GENREID_E_INVALID, "resample: sample rates %d -> %d Hz out of range", in_sr, out_sr);
    if (!x && n) return err_set(err, GENREID_E_INVALID, "resample: NULL input");
    /* librosa.resample: n_samples = int(np.ceil(y.shape[-1] * ratio)), exact in integers here */
    uint64_t num = (uint64_t)n * (uint64_t)out_sr;
    uint64_t olen = num / (uint64_t)in_sr + (num % (uint64_t)in_sr != 0);
    if (olen > SIZE_MAX / sizeof(float) - RESAMPLE_SLACK || n > UINT64_MAX / (uint64_t)AUDIO_MAX_SAMPLE_RATE_HZ)
        return err_set(err, GENREID_E_LIMIT, "resample: output too long");
    if (olen == 0) return GENREID_OK;
    /* libsoxr 0.1.3's soxr_output reads up to 8 bytes past the output it writes (valgrind: an
     * 8-byte read at byte 44 of a 48-byte buffer, resampling 4 samples 8000 -> 22050 Hz; the
     * fuzzer hit it as a SEGV at a page end under ASan): the buffer gets a slack tail it never fills */
    float *y = calloc((size_t)olen + RESAMPLE_SLACK, sizeof(float));
    if (!y) return err_set(err, GENREID_E_NOMEM, "resample: out of memory for %llu samples", (unsigned long long)olen);

    /* python-soxr 0.3.7 (what librosa's 'soxr_hq' calls): soxr_quality_spec(SOXR_HQ, 0),
     * io spec float32 in/out, default runtime spec; the whole signal is fed, then flushed. */
    soxr_error_t serr = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_t s = soxr_create((double)in_sr, (double)out_sr, 1, &serr, &io, &q, NULL);
    if (!s || serr) {
        free(y);
        return err_set(err, GENREID_E_INTERNAL, "resample: soxr_create failed (%s)", serr ? serr : "?");
    }
    size_t idone = 0, odone = 0, pos = 0;
    serr = soxr_process(s, x, n, &idone, y, (size_t)olen, &odone);
    pos += odone;
    /* flush: with in == NULL soxr drains its delay line; loop until it gives nothing more */
    while (!serr && pos < olen) {
        odone = 0;
        serr = soxr_process(s, NULL, 0, NULL, y + pos, (size_t)olen - pos, &odone);
        if (odone == 0) break;
        pos += odone;
    }
    soxr_delete(s);
    if (serr) {
        free(y);
        return err_set(err, GENREID_E_INTERNAL, "resample: soxr_process failed (%s)", serr);
    }
    /* librosa fix_length pads the tail with zeros if soxr gave fewer samples (calloc did that) */
    *out = y;
    *out_n = (size_t)olen;
    return GENREID_OK;
}
