/* The list of check rows every check module appends to: the one growth policy for them,
 * shared by the copy, media and any-asset checks. */
#include "loupe/review/check.h"

#include "loupe/base/alloc.h"

lp_err check_list_push(check_list *l, const check_result *r, lp_error *err)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        check_result *p = lp_alloc_resize(l->items, cap, sizeof *p);
        if (!p)
            return lp_err_set(err, LP_ERR_NOMEM, "checks: out of memory");
        l->items = p;
        l->cap = cap;
    }
    l->items[l->n++] = *r;
    return LP_OK;
}

void check_list_free(check_list *l)
{
    lp_alloc_free(l->items);
    l->items = NULL;
    l->n = 0;
    l->cap = 0;
}
