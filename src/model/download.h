/* model/download.h — fetches pretrained ImageNet weights from download.pytorch.org (the URLs
 * torchvision's resnet18/34 ResNet*_Weights.IMAGENET1K_V1 use) into a file with libcurl, and checks the
 * file's SHA-256 against the 8-hex-digit prefix torch hub puts in the file name (resnet18-f37072fd.pth).
 * $GENREID_WEIGHTS_URL, if set, replaces the base URL "https://download.pytorch.org/models/" (tests
 * point it at http://127.0.0.1:9/ so no traffic leaves the machine).
 * Leaves out: resuming, proxies beyond libcurl's own environment handling, other architectures.
 * Tests: tests/model/test_download.c (URL table, hash check, offline failure). */
#ifndef GENREID_MODEL_DOWNLOAD_H
#define GENREID_MODEL_DOWNLOAD_H

#include <stddef.h>
#include "core/error.h"

#define DOWNLOAD_MAX_BYTES ((size_t)1 << 30)

/* File name of the ImageNet weights of arch ("resnet18-f37072fd.pth"), or NULL for an unknown arch. */
const char *download_weights_file(const char *arch);
/* The URL to fetch for arch into url (cap bytes); GENREID_E_INVALID for an unknown arch. */
genreid_status download_weights_url(const char *arch, char *url, size_t cap, genreid_error *err);
/* Downloads url to dest (atomically; no partial file on failure). Network failures are GENREID_E_IO
 * with "URL: cannot download (curl's reason)". */
genreid_status download_file(const char *url, const char *dest, genreid_error *err);
/* Checks that path's SHA-256 starts with the hex prefix found after the last '-' of file_name (before
 * the extension). GENREID_E_FORMAT on mismatch, GENREID_E_INVALID if the name has no such prefix. */
genreid_status download_check_hash(const char *path, const char *file_name, genreid_error *err);

#endif
