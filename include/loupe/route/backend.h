/* The backend interface (design.md §2): the one way the review, the server and the CLI reach a
 * model. A request is structured messages of typed parts, never token strings, so each backend
 * applies its own chat format and the router can filter what may leave the machine by field. */
#ifndef LOUPE_ROUTE_BACKEND_H
#define LOUPE_ROUTE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/base/sha256.h"

typedef enum backend_part_kind {
    BACKEND_PART_TEXT,
    BACKEND_PART_IMAGE,
    BACKEND_PART_AUDIO,
    BACKEND_PART_VIDEO
} backend_part_kind;

/* What a part is, so the router can refuse to send a field off the machine. */
typedef enum backend_field {
    BACKEND_FIELD_RUBRIC,
    BACKEND_FIELD_BRAND,
    BACKEND_FIELD_ASSET_COPY,
    BACKEND_FIELD_ASSET_MEDIA,
    BACKEND_FIELD_FINDINGS,
    BACKEND_FIELD_USER /* free text typed by the user (chat, server requests) */
} backend_field;

typedef enum backend_role {
    BACKEND_ROLE_SYSTEM,
    BACKEND_ROLE_USER,
    BACKEND_ROLE_MODEL
} backend_role;

typedef enum backend_task_kind {
    BACKEND_TASK_ASSET_REVIEW,
    BACKEND_TASK_STRATEGY,
    BACKEND_TASK_SUMMARY,
    BACKEND_TASK_LONG_CONTEXT,
    BACKEND_TASK_CHAT
} backend_task_kind;

typedef enum backend_sensitivity {
    BACKEND_SENSITIVITY_RESTRICTED,
    BACKEND_SENSITIVITY_INTERNAL,
    BACKEND_SENSITIVITY_PUBLIC
} backend_sensitivity;

/* One part of a message. Everything is borrowed for the duration of the call. */
typedef struct backend_part {
    backend_part_kind kind;
    backend_field field;
    int untrusted; /* outside text: tokenized with control-token parsing off */
    const char *text;
    size_t n_text;
    const char *path; /* media: decoded by the backend (src/media) */
    uint8_t sha256[LP_SHA256_LEN];
    const char *mime;
} backend_part;

typedef struct backend_message {
    backend_role role;
    const backend_part *parts;
    size_t n_parts;
} backend_message;

typedef struct backend_sampling {
    double temperature;                         /* 0 = greedy */
    int top_k;                                  /* 0 = off */
    double top_p;                               /* 1 = off */
    double min_p;                               /* 0 = off */
    double repeat_penalty;                      /* 0 or 1 = off */
    double presence_penalty, frequency_penalty; /* 0 = off */
    uint64_t seed;
    int max_tokens;
    const char *const *stop; /* NULL-terminated stop strings, or NULL */
} backend_sampling;

typedef struct backend_request {
    const backend_message *msgs;
    size_t n_msgs;
    const char *json_schema; /* the answer must match; "" = any JSON value; NULL = free text */
    backend_sampling sampling;
    backend_task_kind kind;
    backend_sensitivity sensitivity;
    int think;        /* reviews: 0 */
    int image_tokens; /* soft-token budget per image; 0 = the backend's default */
    int video_frames; /* frames per video; 0 = the backend's default */
    /* Streaming: called with each piece of the answer; non-zero cancels. */
    int (*on_piece)(void *ctx, const char *s, size_t n);
    void *ctx;
    double timeout_s; /* 0 = none */
} backend_request;

typedef enum backend_finish {
    BACKEND_FINISH_STOP,   /* end of turn or a stop string */
    BACKEND_FINISH_LENGTH, /* max_tokens reached */
    BACKEND_FINISH_CANCEL  /* on_piece asked to stop, or the timeout passed */
} backend_finish;

/* The answer and what it cost. text is owned (backend_response_free). */
typedef struct backend_response {
    char *text;
    size_t n_text;
    backend_finish finish;
    char backend[32]; /* "local", "remote:<name>" */
    char model[128];  /* model identity: architecture and type, or the remote model */
    char model_sha256[LP_SHA256_HEX]; /* local: the file's digest; remote: empty */
    long tokens_in, tokens_out;
    double prefill_s, decode_s, total_s;
    uint64_t bytes_sent, bytes_received; /* off the machine; 0 for local */
} backend_response;

/* One implementation: a table of functions over its own state. */
typedef struct backend backend;
typedef struct backend_ops {
    const char *name;
    lp_err (*complete)(backend *b, const backend_request *req, backend_response *out,
                       lp_error *err);
    void (*close)(backend *b);
} backend_ops;
struct backend {
    const backend_ops *ops;
};

/* Runs one request. On success *out is filled and owned by the caller; on failure it is
 * zeroed and err names the backend and the problem. */
lp_err backend_complete(backend *b, const backend_request *req, backend_response *out,
                        lp_error *err);
/* Accepts NULL. */
void backend_close(backend *b);
void backend_response_free(backend_response *r);

const char *backend_field_name(backend_field f);
const char *backend_sensitivity_name(backend_sensitivity s);

#endif
