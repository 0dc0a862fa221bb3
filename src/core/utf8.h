/* core/utf8.h — the one UTF-8 check of libgenreid (RFC 3629 §4: no overlongs, no surrogates,
 * nothing above U+10FFFF), for the JSON reader and writer and for escaping names in messages. */
#ifndef GENREID_CORE_UTF8_H
#define GENREID_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence at s, n >= 1 bytes left; 0 if the bytes there are not one. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* Writes code point cp (<= U+10FFFF, not a surrogate) as UTF-8 at o; returns its length (1-4). */
int utf8_put(char *o, uint32_t cp);

#endif
