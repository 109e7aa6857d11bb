/* Qualifiers (qualifier.h). An alias's share is spread evenly over its calls
 * rather than drawn at random: with weight w, call k goes to the second
 * version when floor((k+1)w) > floor(kw), so any run of calls holds the
 * share to within one call (a canary of 10 % is every tenth call), and a
 * test can count it exactly. */
#include "api/qualifier.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/daemon.h"
#include "store/versions.h"

static void refuse(resolved_t *r, int status, const char *type, const char *fmt, const char *a, const char *b)
{
    r->fn = NULL;
    r->status = status;
    snprintf(r->error_type, sizeof r->error_type, "%s", type);
    snprintf(r->message, sizeof r->message, fmt, a, b);
}

bool qualifier_is_number(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 9 && s[0] != '0' && strspn(s, "0123456789") == n;
}

bool qualifier_alias_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= ALIAS_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n &&
           strspn(s, "0123456789") != n;
}

fn_t *qualifier_version(const char *name, int n, resolved_t *r)
{
    snprintf(r->version, sizeof r->version, "%d", n);
    fn_t *fn = registry_find_version(name, n);
    if (fn)
        return r->fn = fn;
    fn_config_t c;
    int rc = store_published_get(D->store, name, n, &c, NULL, NULL);
    if (rc == STORE_NOT_FOUND) {
        refuse(r, 404, "ResourceNotFoundException", "function '%s' has no version %s", name, r->version);
        return NULL;
    }
    if (rc != STORE_OK) {
        refuse(r, 500, "StorageException", "%s%s", store_last_error(D->store), "");
        return NULL;
    }
    r->fn = registry_add_version(&c);
    fn_config_clear(&c);
    return r->fn;
}

/* Calls made through each alias so far (for the even spread). */
typedef struct alias_count {
    char key[FN_NAME_MAX + ALIAS_NAME_MAX + 2];
    uint64_t calls;
    struct alias_count *next;
} alias_count_t;
static alias_count_t *counts;

int qualifier_pick(const char *fn, const char *alias, int version, int extra_version, double extra_weight)
{
    if (!extra_version || extra_weight <= 0)
        return version;
    char key[sizeof counts->key];
    snprintf(key, sizeof key, "%s/%s", fn, alias);
    alias_count_t *c = counts;
    while (c && strcmp(c->key, key))
        c = c->next;
    if (!c && (c = calloc(1, sizeof *c))) {
        snprintf(c->key, sizeof c->key, "%s", key);
        c->next = counts;
        counts = c;
    }
    uint64_t k = c ? c->calls++ : 0;
    bool extra = floor((double)(k + 1) * extra_weight) > floor((double)k * extra_weight);
    return extra ? extra_version : version;
}

fn_t *qualifier_resolve(const char *name, const char *qualifier, resolved_t *r)
{
    memset(r, 0, sizeof *r);
    snprintf(r->version, sizeof r->version, "$LATEST");
    fn_t *latest = registry_find(name);
    if (!latest) {
        refuse(r, 404, "ResourceNotFoundException", "function '%s' not found%s", name, "");
        return NULL;
    }
    if (!qualifier || !*qualifier || !strcmp(qualifier, "$LATEST"))
        return r->fn = latest;
    if (qualifier_is_number(qualifier))
        return qualifier_version(name, atoi(qualifier), r);
    if (!qualifier_alias_valid(qualifier)) {
        refuse(r, 400, "InvalidParameterValueException",
               "the qualifier '%.128s' is neither $LATEST, a version's number nor an alias's name%s", qualifier, "");
        return NULL;
    }
    alias_t a;
    int rc = store_alias_get(D->store, name, qualifier, &a);
    if (rc == STORE_NOT_FOUND) {
        refuse(r, 404, "ResourceNotFoundException", "function '%s' has no alias '%s'", name, qualifier);
        return NULL;
    }
    if (rc != STORE_OK) {
        refuse(r, 500, "StorageException", "%s%s", store_last_error(D->store), "");
        return NULL;
    }
    int v = qualifier_pick(name, qualifier, a.version, a.extra_version, a.extra_weight);
    if (v == VERSION_LATEST)
        return r->fn = latest;
    return qualifier_version(name, v, r);
}
