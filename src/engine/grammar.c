/* The grammar automaton: a pushdown automaton over bytes whose stack frames point into
 * the compiled schema tree. A state is a small set of stacks (more than one only while
 * anyOf branches are undecided); stepping copies it, so the mask can explore from one
 * state without undoing anything.
 *
 * Design notes:
 *  1. Every state the automaton can reach has a completion within the caps: a byte is
 *     refused as soon as no valid value starts with the bytes so far (integer bounds
 *     are checked against every completion, lengths against min and max), so the mask
 *     never leaves the model without a token while the value is incomplete.
 *  2. No insignificant whitespace is accepted anywhere: fewer choices keep a small model
 *     on track, and the output is one canonical compact line.
 *  3. A value that cannot tell its own end (a number, an enum of 1 and 12) stays on the
 *     stack until a byte it cannot take arrives; that byte is then given to the parent.
 *
 * Frames (kind: phases, with the function that moves between them):
 *
 *   VALUE --first byte (grammar_alt_value)--> OBJ | ARR | STR | NUM | INT | LIT
 *   OBJ:  OPEN --"--> KEY --"--> COLON --:--> [value] AFTER --,--> NEXT --"--> KEY
 *         OPEN | AFTER --}--> pop                      (grammar_alt_obj)
 *   ARR:  OPEN --]--> pop; OPEN --[value]--> AFTER --,--> [value] AFTER --]--> pop
 *                                                      (grammar_alt_arr)
 *   STR:  CHARS --\--> ESC --u--> U(4 hex) --> CHARS; CHARS --lead--> UTF8(n) --> CHARS
 *         CHARS --"--> pop                             (grammar_alt_str)
 *   NUM:  SIGN -> ZERO|INT -> DOT -> FRAC -> E -> ESIGN -> EXP (grammar_alt_num)
 *   INT:  SIGN -> ZERO|DIGITS, bounds checked per digit (grammar_alt_int)
 *   LIT:  a range of the sorted literals narrowed per byte (grammar_alt_lit) */
#include <string.h>

#include "grammar_impl.h"

enum { FK_VALUE = 0, FK_OBJ, FK_ARR, FK_STR, FK_NUM, FK_INT, FK_LIT };
enum { OBJ_OPEN = 0, OBJ_KEY, OBJ_COLON, OBJ_AFTER, OBJ_NEXT };
enum { ARR_OPEN = 0, ARR_AFTER };
enum { STR_CHARS = 0, STR_ESC, STR_U, STR_UTF8 };
enum { NUM_SIGN = 0, NUM_ZERO, NUM_INT, NUM_DOT, NUM_FRAC, NUM_E, NUM_ESIGN, NUM_EXP };
enum { INT_SIGN = 0, INT_ZERO, INT_DIGITS };

/* Results of one step of one stack. */
enum { STEP_REJECT = 0, STEP_OK, STEP_FORK, STEP_AGAIN };

static int grammar_is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static grammar_frame *grammar_alt_push(grammar_alt *a, uint8_t kind, uint32_t node)
{
    grammar_frame *f;

    if (a->n >= GRAMMAR_STACK_MAX)
        return NULL;
    f = &a->f[a->n++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->node = (uint16_t)node;
    return f;
}

/* Candidate keys of a declared object from property index `from`: every optional one
 * up to and including the first required one, so required properties cannot be skipped
 * and the schema's order is kept. Bit i is property first + i. */
static uint64_t grammar_obj_candidates(const grammar *g, const grammar_node *n, uint32_t from)
{
    uint64_t mask = 0;

    for (uint32_t i = from; i < n->n; i++) {
        mask |= 1ull << i;
        if (g->props[n->first + i].required)
            break;
    }
    return mask;
}

static int grammar_obj_required_left(const grammar *g, const grammar_node *n, uint32_t from)
{
    for (uint32_t i = from; i < n->n; i++)
        if (g->props[n->first + i].required)
            return 1;
    return 0;
}

static int grammar_alt_obj_free(const grammar *g, grammar_alt *a, grammar_frame *f, uint8_t c)
{
    (void)g;
    switch (f->phase) {
    case OBJ_OPEN:
    case OBJ_NEXT:
        if (c == '}' && f->phase == OBJ_OPEN) {
            a->n--;
            return STEP_OK;
        }
        if (c != '"')
            return STEP_REJECT;
        f->a++;
        f->phase = OBJ_COLON;
        return grammar_alt_push(a, FK_STR, GRAMMAR_NODE_KEY) ? STEP_OK : STEP_REJECT;
    case OBJ_COLON:
        if (c != ':')
            return STEP_REJECT;
        f->phase = OBJ_AFTER;
        return grammar_alt_push(a, FK_VALUE, GRAMMAR_NODE_ANY) ? STEP_OK : STEP_REJECT;
    default:
        if (c == ',' && f->a < GRAMMAR_MEMBERS_MAX) {
            f->phase = OBJ_NEXT;
            return STEP_OK;
        }
        if (c == '}') {
            a->n--;
            return STEP_OK;
        }
        return STEP_REJECT;
    }
}

static int grammar_alt_obj(const grammar *g, grammar_alt *a, grammar_frame *f, uint8_t c)
{
    const grammar_node *n = &g->nodes[f->node];

    if (n->free_obj)
        return grammar_alt_obj_free(g, a, f, c);
    switch (f->phase) {
    case OBJ_OPEN:
    case OBJ_NEXT:
        if (c == '}' && f->phase == OBJ_OPEN && !grammar_obj_required_left(g, n, f->a)) {
            a->n--;
            return STEP_OK;
        }
        f->v = grammar_obj_candidates(g, n, f->a);
        if (c != '"' || !f->v)
            return STEP_REJECT;
        f->phase = OBJ_KEY;
        f->b = 1; /* every key text opens with the quote */
        return STEP_OK;
    case OBJ_KEY: {
        uint64_t keep = 0;
        for (uint32_t i = 0; i < n->n; i++) {
            const grammar_prop *p = &g->props[n->first + i];
            if ((f->v >> i & 1) && p->n_key > f->b && (uint8_t)p->key[f->b] == c)
                keep |= 1ull << i;
        }
        if (!keep)
            return STEP_REJECT;
        f->v = keep;
        f->b++;
        /* keys end at their only unescaped quote, so a finished key is the only candidate */
        for (uint32_t i = 0; i < n->n; i++)
            if ((keep >> i & 1) && g->props[n->first + i].n_key == f->b) {
                f->c = i;
                f->phase = OBJ_COLON;
            }
        return STEP_OK;
    }
    case OBJ_COLON:
        if (c != ':')
            return STEP_REJECT;
        f->a = f->c + 1;
        f->phase = OBJ_AFTER;
        return grammar_alt_push(a, FK_VALUE, g->props[n->first + f->c].node) ? STEP_OK
                                                                             : STEP_REJECT;
    default:
        if (c == ',' && grammar_obj_candidates(g, n, f->a)) {
            f->phase = OBJ_NEXT;
            return STEP_OK;
        }
        if (c == '}' && !grammar_obj_required_left(g, n, f->a)) {
            a->n--;
            return STEP_OK;
        }
        return STEP_REJECT;
    }
}

static int grammar_alt_arr(const grammar *g, grammar_alt *a, grammar_frame *f, uint8_t c)
{
    const grammar_node *n = &g->nodes[f->node];

    if (f->phase == ARR_OPEN) {
        if (c == ']') {
            if (n->min > 0)
                return STEP_REJECT;
            a->n--;
            return STEP_OK;
        }
        if (n->max == 0)
            return STEP_REJECT;
        f->a = 1;
        f->phase = ARR_AFTER;
        return grammar_alt_push(a, FK_VALUE, n->items) ? STEP_AGAIN : STEP_REJECT;
    }
    if (c == ',' && f->a < n->max) {
        f->a++;
        return grammar_alt_push(a, FK_VALUE, n->items) ? STEP_OK : STEP_REJECT;
    }
    if (c == ']' && f->a >= n->min) {
        a->n--;
        return STEP_OK;
    }
    return STEP_REJECT;
}

static int grammar_hex(uint8_t c)
{
    if (grammar_is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A UTF-8 lead byte: how many continuation bytes follow and the range of the first
 * (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF). 0: not a lead. */
static uint32_t grammar_utf8_lead(uint8_t c, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        return 1;
    if (c >= 0xe0 && c <= 0xef) {
        *lo = c == 0xe0 ? 0xa0 : 0x80;
        *hi = c == 0xed ? 0x9f : 0xbf;
        return 2;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        *lo = c == 0xf0 ? 0x90 : 0x80;
        *hi = c == 0xf4 ? 0x8f : 0xbf;
        return 3;
    }
    return 0;
}

static int grammar_str_char(const grammar_node *n, grammar_frame *f, uint8_t c)
{
    uint8_t lo, hi;
    uint32_t k;

    if (c == '"') {
        if (f->a < n->min)
            return STEP_REJECT;
        return STEP_AGAIN; /* the caller pops */
    }
    if (c < 0x20 || f->a >= n->max)
        return STEP_REJECT;
    if (c == '\\') {
        f->phase = STR_ESC;
    } else if (c >= 0x80) {
        k = grammar_utf8_lead(c, &lo, &hi);
        if (!k)
            return STEP_REJECT;
        f->phase = STR_UTF8;
        f->b = k;
        f->c = (uint32_t)lo | (uint32_t)hi << 8;
    }
    f->a++;
    return STEP_OK;
}

static int grammar_alt_str(const grammar *g, grammar_alt *a, grammar_frame *f, uint8_t c)
{
    const grammar_node *n = &g->nodes[f->node];
    int h;

    switch (f->phase) {
    case STR_CHARS:
        h = grammar_str_char(n, f, c);
        if (h == STEP_AGAIN) {
            a->n--;
            return STEP_OK;
        }
        return h;
    case STR_ESC:
        if (c == 'u') {
            f->phase = STR_U;
            f->b = 0;
            f->v = 0;
            return STEP_OK;
        }
        if (!strchr("\"\\/bfnrt", c) || c == 0)
            return STEP_REJECT;
        f->phase = STR_CHARS;
        return STEP_OK;
    case STR_U:
        h = grammar_hex(c);
        if (h < 0)
            return STEP_REJECT;
        f->v = f->v * 16 + (uint64_t)h;
        f->b++;
        /* surrogates would need a pair and \u0000 would cut C strings short: refused */
        if (f->b == 2 && f->v >= 0xd8 && f->v <= 0xdf)
            return STEP_REJECT;
        if (f->b == 4) {
            if (f->v == 0)
                return STEP_REJECT;
            f->phase = STR_CHARS;
        }
        return STEP_OK;
    default:
        if (c < (f->c & 0xff) || c > (f->c >> 8))
            return STEP_REJECT;
        f->c = 0x80u | 0xbfu << 8;
        if (--f->b == 0)
            f->phase = STR_CHARS;
        return STEP_OK;
    }
}

/* Whether a number ends here: the byte goes to the parent (design note 3). */
static int grammar_num_ends(const grammar_frame *f)
{
    return f->phase == NUM_ZERO || f->phase == NUM_INT || f->phase == NUM_FRAC ||
           f->phase == NUM_EXP;
}

static int grammar_alt_num(grammar_frame *f, uint8_t c)
{
    int d = grammar_is_digit(c);

    switch (f->phase) {
    case NUM_SIGN:
        if (!d)
            return STEP_REJECT;
        f->phase = c == '0' ? NUM_ZERO : NUM_INT;
        f->a = 1;
        return STEP_OK;
    case NUM_ZERO:
    case NUM_INT:
        if (d && f->phase == NUM_INT && f->a < GRAMMAR_NUM_DIGITS) {
            f->a++;
            return STEP_OK;
        }
        if (c == '.') {
            f->phase = NUM_DOT;
            return STEP_OK;
        }
        break;
    case NUM_DOT:
        if (!d)
            return STEP_REJECT;
        f->phase = NUM_FRAC;
        f->b = 1;
        return STEP_OK;
    case NUM_FRAC:
        if (d && f->b < GRAMMAR_NUM_DIGITS) {
            f->b++;
            return STEP_OK;
        }
        break;
    case NUM_E:
        if (c == '+' || c == '-') {
            f->phase = NUM_ESIGN;
            return STEP_OK;
        }
        /* fall through */
    case NUM_ESIGN:
        if (!d)
            return STEP_REJECT;
        f->phase = NUM_EXP;
        f->c = 1;
        return STEP_OK;
    default:
        if (d && f->c < GRAMMAR_EXP_DIGITS) {
            f->c++;
            return STEP_OK;
        }
        return STEP_AGAIN;
    }
    if ((c == 'e' || c == 'E') && f->phase != NUM_DOT) {
        f->phase = NUM_E;
        return STEP_OK;
    }
    return STEP_AGAIN;
}

/* Magnitudes an integer of this sign may have under the node's bounds; 0 if none. */
static int grammar_int_range(const grammar_node *n, int neg, int64_t *mlo, int64_t *mhi)
{
    if (!neg) {
        *mlo = n->lo > 1 ? n->lo : 1;
        *mhi = n->hi;
    } else {
        *mlo = -n->hi > 1 ? -n->hi : 1;
        *mhi = -n->lo;
    }
    return *mlo <= *mhi;
}

/* Whether some integer of k digits starting v (v, v0..v9, v00..) has a magnitude in
 * [mlo, mhi] within the digit cap: the check that refuses a prefix that cannot fit. */
static int grammar_int_fits(int64_t v, uint32_t k, int64_t mlo, int64_t mhi)
{
    int64_t p = 1;

    for (uint32_t j = k; j <= GRAMMAR_INT_DIGITS; j++) {
        int64_t lo = v * p, hi = (v + 1) * p - 1;
        if (hi >= mlo && lo <= mhi)
            return 1;
        if (lo > mhi)
            return 0;
        p *= 10;
    }
    return 0;
}

static int grammar_int_in_range(const grammar_node *n, const grammar_frame *f)
{
    int64_t v = f->b ? -(int64_t)f->v : (int64_t)f->v;

    if (f->phase == INT_ZERO)
        return 1; /* checked when the 0 was taken */
    return f->phase == INT_DIGITS && v >= n->lo && v <= n->hi;
}

static int grammar_alt_int(const grammar *g, grammar_frame *f, uint8_t c)
{
    const grammar_node *n = &g->nodes[f->node];
    int64_t mlo, mhi;
    int64_t d = c - '0';

    if (f->phase == INT_ZERO)
        return STEP_AGAIN;
    if (!grammar_is_digit(c))
        return f->phase == INT_DIGITS && grammar_int_in_range(n, f) ? STEP_AGAIN : STEP_REJECT;
    if (!grammar_int_range(n, (int)f->b, &mlo, &mhi))
        return STEP_REJECT;
    if (f->phase == INT_SIGN) {
        if (d == 0 || !grammar_int_fits(d, 1, mlo, mhi))
            return STEP_REJECT;
        f->phase = INT_DIGITS;
        f->a = 1;
        f->v = (uint64_t)d;
        return STEP_OK;
    }
    if (f->a >= GRAMMAR_INT_DIGITS || !grammar_int_fits((int64_t)f->v * 10 + d, f->a + 1, mlo, mhi))
        return grammar_int_in_range(n, f) ? STEP_AGAIN : STEP_REJECT;
    f->a++;
    f->v = f->v * 10 + (uint64_t)d;
    return STEP_OK;
}

/* Literals of a node are sorted, so those that share the bytes so far are a range
 * [b, c); one with exactly pos bytes, if any, is its first. */
static int grammar_alt_lit(const grammar *g, grammar_alt *a, grammar_frame *f, uint8_t c)
{
    const grammar_node *n = &g->nodes[f->node];
    const grammar_lit *l = g->lits + n->first;
    uint32_t lo = f->b, hi = f->c, pos = f->a;
    uint32_t nlo = hi, nhi = hi;

    for (uint32_t i = lo; i < hi; i++)
        if (l[i].n > pos && (uint8_t)l[i].text[pos] == c) {
            if (nlo == hi)
                nlo = i;
            nhi = i + 1;
        }
    if (nlo == hi)
        return l[lo].n == pos ? STEP_AGAIN : STEP_REJECT;
    f->a = pos + 1;
    f->b = nlo;
    f->c = nhi;
    if (nhi - nlo == 1 && l[nlo].n == pos + 1)
        a->n--; /* nothing longer can follow: done */
    return STEP_OK;
}

static int grammar_lit_exact(const grammar *g, const grammar_frame *f)
{
    return g->lits[g->nodes[f->node].first + f->b].n == f->a;
}

/* The first byte of a value: turns the VALUE frame into the frame that reads it. */
static int grammar_alt_value(const grammar *g, grammar_alt *a, grammar_frame *f, uint8_t c)
{
    const grammar_node *n = &g->nodes[f->node];
    int64_t mlo, mhi;

    switch (n->kind) {
    case GRAMMAR_K_ANY:
        if (c == '{' || c == '[') {
            if (a->n >= GRAMMAR_STACK_MAX)
                return STEP_REJECT; /* at the depth cap only scalars remain */
            f->node = c == '{' ? GRAMMAR_NODE_OBJ : GRAMMAR_NODE_ARR;
        } else if (c == '"')
            f->node = GRAMMAR_NODE_STR;
        else if (c == '-' || grammar_is_digit(c))
            f->node = GRAMMAR_NODE_NUM;
        else if (c == 't' || c == 'f' || c == 'n')
            f->node = GRAMMAR_NODE_WORDS;
        else
            return STEP_REJECT;
        return STEP_AGAIN;
    case GRAMMAR_K_UNION: return STEP_FORK;
    case GRAMMAR_K_OBJECT:
    case GRAMMAR_K_ARRAY:
        if (c != (n->kind == GRAMMAR_K_OBJECT ? '{' : '['))
            return STEP_REJECT;
        f->kind = n->kind == GRAMMAR_K_OBJECT ? FK_OBJ : FK_ARR;
        f->phase = 0;
        return STEP_OK;
    case GRAMMAR_K_STRING:
        if (c != '"')
            return STEP_REJECT;
        f->kind = FK_STR;
        f->phase = STR_CHARS;
        return STEP_OK;
    case GRAMMAR_K_NUMBER:
        if (c != '-' && !grammar_is_digit(c))
            return STEP_REJECT;
        f->kind = FK_NUM;
        f->phase = c == '-' ? NUM_SIGN : c == '0' ? NUM_ZERO : NUM_INT;
        f->a = c == '-' ? 0 : 1;
        return STEP_OK;
    case GRAMMAR_K_INTEGER:
        f->kind = FK_INT;
        if (c == '-') {
            if (!grammar_int_range(n, 1, &mlo, &mhi))
                return STEP_REJECT;
            f->phase = INT_SIGN;
            f->b = 1;
            return STEP_OK;
        }
        if (c == '0') {
            if (n->lo > 0 || n->hi < 0)
                return STEP_REJECT;
            f->phase = INT_ZERO;
            return STEP_OK;
        }
        f->phase = INT_SIGN; /* a positive number: the digit is read as after a sign */
        f->b = 0;
        return STEP_AGAIN;
    default:
        f->kind = FK_LIT;
        f->a = 0;
        f->b = 0;
        f->c = n->n;
        return STEP_AGAIN;
    }
}

/* One byte into one stack, re-dispatching while a frame hands the byte on. */
static int grammar_alt_step(const grammar *g, grammar_alt *a, uint8_t c)
{
    for (;;) {
        grammar_frame *f;
        int r;

        if (a->n == 0)
            return STEP_REJECT;
        f = &a->f[a->n - 1];
        switch (f->kind) {
        case FK_VALUE: r = grammar_alt_value(g, a, f, c); break;
        case FK_OBJ: r = grammar_alt_obj(g, a, f, c); break;
        case FK_ARR: r = grammar_alt_arr(g, a, f, c); break;
        case FK_STR: r = grammar_alt_str(g, a, f, c); break;
        case FK_NUM:
            r = grammar_alt_num(f, c);
            if (r == STEP_AGAIN) {
                if (!grammar_num_ends(f))
                    return STEP_REJECT;
                a->n--;
            }
            break;
        case FK_INT:
            r = grammar_alt_int(g, f, c);
            if (r == STEP_AGAIN)
                a->n--;
            break;
        default:
            r = grammar_alt_lit(g, a, f, c);
            if (r == STEP_AGAIN)
                a->n--;
            break;
        }
        if (r != STEP_AGAIN)
            return r;
    }
}

static int grammar_alt_accepting(const grammar *g, const grammar_alt *a)
{
    const grammar_frame *f;

    if (a->n == 0)
        return 1;
    if (a->n > 1)
        return 0;
    f = &a->f[0];
    if (f->kind == FK_NUM)
        return grammar_num_ends(f);
    if (f->kind == FK_INT)
        return grammar_int_in_range(&g->nodes[f->node], f);
    if (f->kind == FK_LIT)
        return grammar_lit_exact(g, f);
    return 0;
}

static void grammar_alt_copy(grammar_alt *dst, const grammar_alt *src)
{
    dst->n = src->n;
    memcpy(dst->f, src->f, src->n * sizeof src->f[0]);
}

void grammar_set_init(const grammar *g, grammar_set *s)
{
    s->n = 1;
    s->alt[0].n = 0;
    grammar_alt_push(&s->alt[0], FK_VALUE, g->root);
}

void grammar_set_copy(grammar_set *dst, const grammar_set *src)
{
    dst->n = src->n;
    for (uint32_t i = 0; i < src->n; i++)
        grammar_alt_copy(&dst->alt[i], &src->alt[i]);
}

/* An anyOf value starts: one stack per branch, each given the byte. Branches past
 * GRAMMAR_ALTS_MAX live stacks are dropped: every stack kept is a valid parse that can
 * complete, so this narrows the language but never admits invalid output. */
static void grammar_set_fork(const grammar *g, const grammar_alt *base, uint8_t c, grammar_set *out)
{
    const grammar_node *u = &g->nodes[base->f[base->n - 1].node];

    for (uint32_t i = 0; i < u->n && out->n < GRAMMAR_ALTS_MAX; i++) {
        grammar_alt *dst = &out->alt[out->n];
        grammar_alt_copy(dst, base);
        dst->f[dst->n - 1].node = (uint16_t)g->alts[u->first + i];
        if (grammar_alt_step(g, dst, c) == STEP_OK)
            out->n++;
    }
}

uint32_t grammar_set_step(const grammar *g, const grammar_set *in, uint8_t c, grammar_set *out)
{
    grammar_alt tmp;

    out->n = 0;
    for (uint32_t i = 0; i < in->n && out->n < GRAMMAR_ALTS_MAX; i++) {
        grammar_alt *dst = &out->alt[out->n];
        int r;
        grammar_alt_copy(dst, &in->alt[i]);
        r = grammar_alt_step(g, dst, c);
        if (r == STEP_OK)
            out->n++;
        else if (r == STEP_FORK) {
            grammar_alt_copy(&tmp, dst);
            grammar_set_fork(g, &tmp, c, out);
        }
    }
    return out->n;
}

int grammar_set_accepting(const grammar *g, const grammar_set *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (grammar_alt_accepting(g, &s->alt[i]))
            return 1;
    return 0;
}

int grammar_set_can_continue(const grammar *g, const grammar_set *s)
{
    for (uint32_t i = 0; i < s->n; i++) {
        if (s->alt[i].n == 0)
            continue;
        for (int c = 0; c < 256; c++) {
            grammar_alt tmp;
            int r;
            grammar_alt_copy(&tmp, &s->alt[i]);
            r = grammar_alt_step(g, &tmp, (uint8_t)c);
            if (r == STEP_OK || r == STEP_FORK)
                return 1;
        }
    }
    return 0;
}
