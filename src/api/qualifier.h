#pragma once
/* Qualifiers: which of a function's versions a call runs (store/versions.h;
 * docs/api.md, "Versions and aliases"). "" and "$LATEST" name the function
 * as it is now, a number one of its published versions, anything else an
 * alias, which picks one of its one or two versions for each call. */
#include <stdbool.h>

#include "pool/pool.h"

enum { QUALIFIER_MAX = 128 };

typedef struct resolved {
    fn_t *fn;         /* what runs the call: $LATEST's, or a published version's own */
    char version[16]; /* what it runs: "$LATEST" or the number (X-Amz-Executed-Version) */
    /* When fn is NULL: the refusal. */
    int status; /* 400, 404, 500 */
    char error_type[48];
    char message[320];
} resolved_t;

/* The function name's qualifier names, for a call (an alias picks). Returns
 * r->fn, or NULL with r's refusal. */
fn_t *qualifier_resolve(const char *name, const char *qualifier, resolved_t *r);
/* Is s a version's number (all digits, no leading zero, at most 9)? */
bool qualifier_is_number(const char *s);
/* Is s a valid alias name (1-128 of letters, digits, '-', '_'; not all digits)? */
bool qualifier_alias_valid(const char *s);
/* The published version n of name, its own function made on first use
 * (NULL: none such; r says why). */
fn_t *qualifier_version(const char *name, int n, resolved_t *r);
/* The version an alias sends its next call to: its own, or its second for
 * extra_weight of the calls, spread evenly (every tenth for 0.1). */
int qualifier_pick(const char *fn, const char *alias, int version, int extra_version, double extra_weight);
