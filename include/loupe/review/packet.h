/* A packet as the user hands it over: a folder, or a zip of one (design.md §3). A zip is
 * recognised by its magic bytes, checked entry by entry (no absolute or ".." names, no
 * backslashes, symlinks, duplicates or encryption; caps on entries, sizes and compression
 * ratio, counted again while extracting since declared sizes can lie) and extracted into a
 * fresh private temporary folder that packet_close removes; then manifest_open reads it. */
#ifndef LOUPE_REVIEW_PACKET_H
#define LOUPE_REVIEW_PACKET_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/base/sha256.h"
#include "loupe/review/manifest.h"
#include "loupe/review/placements.h"

#define PACKET_ZIP_ENTRIES_MAX 2000
#define PACKET_ZIP_ENTRY_MAX (1ull << 30)  /* uncompressed bytes of one entry */
#define PACKET_ZIP_TOTAL_MAX (4ull << 30)  /* uncompressed bytes of all entries */
#define PACKET_ZIP_RATIO_MAX 200           /* uncompressed : compressed, */
#define PACKET_ZIP_RATIO_FROM (1ull << 20) /* on entries larger than this */
#define PACKET_ZIP_NAME_MAX 1024           /* bytes of an entry name */
#define PACKET_ZIP_DEPTH_MAX 32            /* folders in an entry name */

typedef struct packet {
    manifest *manifest; /* owned */
    char *root;         /* the folder manifest_open read: the packet, or inside the extraction */
    int from_zip;       /* 1 when path was a zip */
    char *zip_sha256;   /* hex SHA-256 of the zip file's bytes; NULL for a folder */
    char *extract_dir;  /* the private temporary folder; NULL for a folder */
} packet;

/* Opens a folder (straight to manifest_open) or a zip. Zip errors are LP_ERR_INVALID (or
 * LP_ERR_LIMIT for caps) and name the zip and the entry: "a.zip: entry '../evil': '..'
 * component (zip-slip)"; manifest errors are prefixed with the zip's name. A zip's manifest
 * may sit at its top or in its single top-level folder. On success *out is the caller's:
 * free with packet_close. */
lp_err packet_open(const char *path, const placements *pl, packet **out, lp_error *err);
/* Removes the extraction folder and frees everything; accepts NULL. */
void packet_close(packet *p);

/* Extracts the zip held in data (n bytes) into dest (an existing, empty, private folder) with
 * every check packet_open applies; name is what errors call the zip. For the fuzz target. */
lp_err packet_unzip_buffer(const char *name, const void *data, size_t n, const char *dest,
                           lp_error *err);

/* Removes a folder tree without following symlinks (the extraction clean-up). */
void packet_remove_tree(const char *dir);

#endif
