/* tests/fuzz/fuzz_npy.c — npy_parse (core/npy.h). Promises checked: a failure leaves the array
 * zeroed, with a message; a success has count == product(shape) floats, all of the data. */
#include "fuzz.h"
#include "core/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    genreid_error err;
    fuzz_err_init(&err);
    npy_array a;
    memset(&a, 0xA5, sizeof a);
    genreid_status st = npy_parse(data, size, "fuzz.npy", &a, &err);
    if (st) {
        fuzz_check_failure(st, &err);
        FUZZ_REQUIRE(fuzz_all_zero(&a, sizeof a));
        return 0;
    }
    FUZZ_REQUIRE(a.ndim >= 0 && a.ndim <= NPY_MAX_DIMS);
    size_t count = 1;
    for (int d = 0; d < a.ndim; d++) count *= a.shape[d];
    FUZZ_REQUIRE(count == a.count);
    FUZZ_REQUIRE(a.data != NULL);
    FUZZ_REQUIRE(a.count * 4 <= size);
    FUZZ_REQUIRE(!a.count || !memcmp(a.data, data + size - a.count * 4, a.count * 4));
    npy_free(&a);
    return 0;
}
