/* Dispatch of the backend interface onto an implementation's table, plus the names the
 * audit log and `route explain` print. */
#include "loupe/route/backend.h"

#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"

lp_err backend_complete(backend *b, const backend_request *req, backend_response *out,
                        lp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!b || !b->ops || !b->ops->complete)
        return lp_err_set(err, LP_ERR_INVALID, "backend: none configured");
    lp_err rc = b->ops->complete(b, req, out, err);
    if (rc) {
        backend_response_free(out);
        return rc;
    }
    if (!out->backend[0])
        snprintf(out->backend, sizeof out->backend, "%s", b->ops->name);
    return LP_OK;
}

void backend_close(backend *b)
{
    if (b && b->ops && b->ops->close)
        b->ops->close(b);
}

void backend_response_free(backend_response *r)
{
    lp_alloc_free(r->text);
    memset(r, 0, sizeof *r);
}

const char *backend_field_name(backend_field f)
{
    static const char *const names[] = {"rubric",      "brand",    "asset_copy",
                                        "asset_media", "findings", "user"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

const char *backend_sensitivity_name(backend_sensitivity s)
{
    static const char *const names[] = {"restricted", "internal", "public"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}
