/* tests/fuzz/fuzz_manifest.c — fetch_manifest_load (cli/fetch_manifest.h), which takes a path: the
 * input is written to one file in a private temp folder (/dev/shm when there is one), rewritten
 * for every input. Promises checked: a failure leaves the manifest empty, with a message; every
 * row loaded obeys the documented rules (non-empty label/file/url/id, file LABEL/NAME inside the
 * dataset, duration > 0, sha256 64 lowercase hex); saving and loading again gives the same text
 * columns. */
#include "fuzz.h"
#include "cli/fetch_manifest.h"

#include <unistd.h>

static char dir[256], in_path[300], out_path[300];

static void cleanup(void) {
    unlink(in_path);
    unlink(out_path);
    rmdir(dir);
}

static int setup(void) {
    if (dir[0]) return 0;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/genreid-fuzz-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("fuzz_manifest: mkdtemp");
        abort();
    }
    snprintf(in_path, sizeof in_path, "%s/manifest.tsv", dir);
    snprintf(out_path, sizeof out_path, "%s/saved.tsv", dir);
    atexit(cleanup);
    return 0;
}

static void check_row(const fetch_row *r) {
    FUZZ_REQUIRE(r->label && r->file && r->url && r->id && r->title);
    FUZZ_REQUIRE(*r->label && *r->file && *r->url && *r->id);
    FUZZ_REQUIRE(r->label[0] != '.' && !strchr(r->label, '/'));
    size_t ll = strlen(r->label);
    FUZZ_REQUIRE(!strncmp(r->file, r->label, ll) && r->file[ll] == '/');
    const char *name = r->file + ll + 1;
    FUZZ_REQUIRE(*name && *name != '.' && !strchr(name, '/'));
    FUZZ_REQUIRE(r->start_s >= 0 && r->duration_s > 0);
    FUZZ_REQUIRE(strlen(r->sha256) == 64 && strspn(r->sha256, "0123456789abcdef") == 64);
    FUZZ_REQUIRE(memchr(r->fetched, '\0', sizeof r->fetched));
}

static void write_input(const uint8_t *data, size_t size) {
    FILE *f = fopen(in_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror("fuzz_manifest: write");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    write_input(data, size);
    genreid_error err;
    fuzz_err_init(&err);
    fetch_manifest m;
    memset(&m, 0xA5, sizeof m);
    genreid_status st = fetch_manifest_load(&m, in_path, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(fuzz_all_zero(&m, sizeof m));
        return 0;
    }
    FUZZ_REQUIRE(m.n <= m.cap && (m.n == 0 || m.rows));
    for (size_t i = 0; i < m.n; i++) check_row(&m.rows[i]);

    /* round trip through the writer */
    fuzz_err_init(&err);
    st = fetch_manifest_save(&m, out_path, &err);
    FUZZ_REQUIRE(st == GENREID_OK);
    fetch_manifest back;
    fuzz_err_init(&err);
    st = fetch_manifest_load(&back, out_path, &err);
    if (st) fprintf(stderr, "fuzz: saved manifest does not load: %s\n", err.message);
    FUZZ_REQUIRE(st == GENREID_OK);
    FUZZ_REQUIRE(back.n == m.n);
    for (size_t i = 0; i < m.n; i++) {
        const fetch_row *a = &m.rows[i], *b = &back.rows[i];
        FUZZ_REQUIRE(!strcmp(a->label, b->label) && !strcmp(a->file, b->file) && !strcmp(a->url, b->url));
        FUZZ_REQUIRE(!strcmp(a->id, b->id) && !strcmp(a->title, b->title) && !strcmp(a->sha256, b->sha256));
    }
    fetch_manifest_free(&back);
    fetch_manifest_free(&m);
    FUZZ_REQUIRE(fuzz_all_zero(&m, sizeof m));
    return 0;
}
