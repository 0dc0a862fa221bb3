/* tests/model/test_sha256.c — model/sha256 against the FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf":
 * "abc", the 448-bit two-block message, one million 'a') and the empty string, fed whole and in odd
 * pieces; sha256_file on a file and a missing file. */
#include "test.h"
#include "model/sha256.h"

static void hash_str(const void *s, size_t n, size_t piece, char hex[65]) {
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    for (size_t i = 0; i < n; i += piece) sha256_update(&c, n - i < piece ? n - i : piece, (const uint8_t *)s + i);
    sha256_digest(&c, sizeof d, d);
    sha256_hex(d, hex);
}

int main(void) {
    char hex[65];
    const char *abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const char *two = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    const char *msg2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hash_str("abc", 3, 3, hex);
    CHECKF(!strcmp(hex, abc), "%s", hex);
    hash_str(msg2, strlen(msg2), 1000, hex);
    CHECKF(!strcmp(hex, two), "%s", hex);
    hash_str(msg2, strlen(msg2), 7, hex);
    CHECKF(!strcmp(hex, two), "%s", hex);
    hash_str("", 0, 1, hex);
    CHECKF(!strcmp(hex, empty), "%s", hex);
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    hash_str(a, 1000000, 4097, hex);
    CHECKF(!strcmp(hex, million), "%s", hex);
    hash_str("abd", 3, 3, hex);
    CHECK(strcmp(hex, abc) != 0);
    sha256_hex_of("abc", 3, hex);
    CHECKF(!strcmp(hex, abc), "%s", hex);
    const char *path = test_path(test_tmpdir(), "m.bin");
    CHECK(test_write_file(path, a, 1000000) == 0);
    genreid_error err;
    CHECK(sha256_file(path, hex, &err) == GENREID_OK && !strcmp(hex, million));
    CHECK(sha256_file("/nonexistent/x", hex, &err) == GENREID_E_IO);
    free(a);
    TEST_END();
}
