/* tests/model/test_download.c — model/download: the torchvision weight URLs and their override, the
 * SHA-256 prefix check (a file whose hash is known from the FIPS "abc" vector), and the offline error
 * (an unroutable local port: no traffic leaves the machine; no partial file is left). */
#include "test.h"
#include "model/download.h"

int main(void) {
    genreid_error err;
    char url[512];
    unsetenv("GENREID_WEIGHTS_URL");
    CHECK(download_weights_url("resnet18", url, sizeof url, &err) == GENREID_OK &&
          !strcmp(url, "https://download.pytorch.org/models/resnet18-f37072fd.pth"));
    CHECK(download_weights_url("resnet34", url, sizeof url, &err) == GENREID_OK &&
          !strcmp(url, "https://download.pytorch.org/models/resnet34-b627a593.pth"));
    CHECK(download_weights_url("resnet50", url, sizeof url, &err) == GENREID_E_INVALID);
    setenv("GENREID_WEIGHTS_URL", "http://127.0.0.1:9", 1);
    CHECK(download_weights_url("resnet18", url, sizeof url, &err) == GENREID_OK &&
          !strcmp(url, "http://127.0.0.1:9/resnet18-f37072fd.pth"));
    const char *dir = test_tmpdir(), *dest = test_path(dir, "w.pth");
    CHECK(download_file(url, dest, &err) == GENREID_E_IO && strstr(err.message, "cannot download") &&
          !test_exists(dest));
    /* SHA-256("abc") = ba7816bf... */
    const char *f = test_path(dir, "abc.bin");
    CHECK(test_write_file(f, "abc", 3) == 0);
    CHECK(download_check_hash(f, "thing-ba7816bf.pth", &err) == GENREID_OK);
    CHECK(download_check_hash(f, "thing-BA7816BF8F01.pth", &err) == GENREID_OK);
    CHECK(download_check_hash(f, "resnet18-f37072fd.pth", &err) == GENREID_E_FORMAT && strstr(err.message, "corrupt"));
    CHECK(download_check_hash(f, "nohash.pth", &err) == GENREID_E_INVALID);
    CHECK(download_check_hash(f, "x-zzzzzzzz.pth", &err) == GENREID_E_INVALID);
    TEST_END();
}
