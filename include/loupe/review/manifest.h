/* The packet manifest (design.md §8): packet.yaml or packet.json in a packet folder, and its
 * brand (inline or a brand.yaml). manifest_open parses and validates everything before any
 * check runs, so a bad packet fails with "packet.yaml:12: assets[1].placements[0]: ..." and
 * never half-reviewed. Every asset path is proven to stay inside the packet folder. */
#ifndef LOUPE_REVIEW_MANIFEST_H
#define LOUPE_REVIEW_MANIFEST_H

#include <stddef.h>

#include "loupe/base/err.h"
#include "loupe/review/placements.h"

/* Caps: a manifest is a short hand-written file; anything bigger is a mistake or an attack. */
#define MANIFEST_FILE_MAX (1u << 20)  /* packet.yaml / brand.yaml bytes */
#define MANIFEST_ASSETS_MAX 500       /* assets per packet */
#define MANIFEST_PLACEMENTS_MAX 32    /* placements per asset */
#define MANIFEST_ID_MAX 64            /* packet, asset id, variant, field: bytes */
#define MANIFEST_STRING_MAX 1024      /* paths, names, rubric, voice */
#define MANIFEST_TEXT_MAX (16u << 10) /* inline copy text (or a copy file), bytes */
#define MANIFEST_LIST_MAX 1000        /* avoid_words, disclaimers, colours */

typedef enum manifest_sensitivity {
    MANIFEST_SENSITIVITY_RESTRICTED,
    MANIFEST_SENSITIVITY_INTERNAL,
    MANIFEST_SENSITIVITY_PUBLIC
} manifest_sensitivity;

typedef struct manifest_asset {
    char *id;
    placements_kind kind;
    char *file;        /* as written, relative to the packet; NULL for inline copy */
    char *path;        /* resolved (realpath) inside the packet; NULL when file is NULL */
    char *text;        /* copy: NFC not applied, UTF-8 as written (or read from file); else NULL */
    char *field;       /* copy: a field name of placements.md §3; else NULL */
    char **placements; /* preset ids, each known to the placements table */
    size_t n_placements;
    char *variant; /* NULL when the manifest gives none */
    int line;      /* 1-based line of the asset in the manifest, for later messages */
} manifest_asset;

typedef struct manifest_brand {
    char *file; /* "brand.yaml" as written, or NULL when inline */
    char *name;
    char *voice; /* NULL when absent */
    char **avoid_words;
    size_t n_avoid_words;
    char **disclaimers; /* required_disclaimers */
    size_t n_disclaimers;
    char **colours; /* "#RRGGBB" */
    size_t n_colours;
    char *logo;      /* as written, NULL when absent */
    char *logo_path; /* resolved inside the packet */
} manifest_brand;

typedef struct manifest {
    char *dir;  /* realpath of the packet folder */
    char *file; /* "packet.yaml" or "packet.json": the name errors use */
    char *packet;
    manifest_brand brand;
    manifest_sensitivity sensitivity;
    char *rubric; /* "name@version" */
    manifest_asset *assets;
    size_t n_assets;
} manifest;

/* Opens the packet at path (a folder), checking ids against the placements table pl (borrowed,
 * only during the call). On success *out is owned by the caller: free with manifest_free; all
 * its strings belong to it. On failure *out is NULL and err holds "FILE:LINE: FIELD: problem".
 * A .zip (or any non-folder) is refused with LP_ERR_UNSUPPORTED for now. */
lp_err manifest_open(const char *path, const placements *pl, manifest **out, lp_error *err);
/* Accepts NULL. */
void manifest_free(manifest *m);

const char *manifest_sensitivity_name(manifest_sensitivity s);
/* The asset of this id, borrowed from m; NULL when absent. */
const manifest_asset *manifest_find_asset(const manifest *m, const char *id);

#endif
