/* cli/collection.h — what `predict` and `spectrogram` need for whole music collections:
 *   - shards: file i of a run goes to shard 1 + fmix64(FNV-1a-64(rel)) mod N, rel being its path below
 *     the folder it was found in (a file argument: its base name), so machines that mount the
 *     collection at different places agree without talking to each other;
 *   - a resumable output: one record per file (JSONL, or CSV when the name ends in .csv), each
 *     written with one write(2) and flushed as soon as the file is done, never truncated. A rerun
 *     with the same output skips the files it already holds, matched by rel + size + mtime (to
 *     the nanosecond), and appends the rest. JSONL records carry "rel", "size" and "mtime"; CSV
 *     rows start with the columns rel,size,mtime. A record cut short by a kill or a full disk is dropped on reopen (the
 *     file in flight is the only loss), so the output always parses.
 * Used only by the CLI; the library stays free of files it did not ask for. */
#ifndef GENREID_CLI_COLLECTION_H
#define GENREID_CLI_COLLECTION_H

#include <stddef.h>
#include <stdint.h>
#include "genreid.h"

/* "K/N" with 1 <= K <= N <= 1000000; 0 on success. */
int collection_parse_shard(const char *s, int *k, int *n);
/* 1 if rel belongs to shard k of n. */
int collection_in_shard(const char *rel, int k, int n);

/* The identity of an input file in an output: rel, size and modification time, the last as text
 * "SECONDS.NANOSECONDS" (exact, where a JSON number would round it). */
typedef struct collection_key {
    const char *rel;
    long long size;
    char mtime[32];
} collection_key;

/* Fills size and mtime from path; 0 on success. */
int collection_stat(const char *path, const char *rel, collection_key *key);

typedef struct collection_out {
    int fd;
    int csv;
    char **keys;       /* "rel\tsize\tmtime" of the records already there, sorted */
    size_t n_keys;
    size_t n_dropped;  /* bytes of a cut-short last record removed on open */
} collection_out;

/* Opens (creates) path for appending. csv_header: written first to a new or empty CSV. Reads the
 * records already there. Errors name the file (and line, for a record it cannot read). */
genreid_status collection_out_open(collection_out *o, const char *path, const char *csv_header, genreid_error *err);
/* 1 if a record for key is already in the output. */
int collection_out_has(const collection_out *o, const collection_key *key);
/* Appends one record (text ending in '\n'; the caller formats it, key fields included). */
genreid_status collection_out_write(collection_out *o, const char *path, const char *record, size_t len, genreid_error *err);
void collection_out_close(collection_out *o);

/* Writes s as one CSV field: quoted when it holds ',', '"' or a line break. */
#include <stdio.h>
void collection_csv_field(FILE *f, const char *s);

#endif
