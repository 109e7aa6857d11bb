#pragma once
/* Validation of a function spec sent to the API (create or partial update). */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime_api/runtimes.h"
#include "store/function.h"

#define FN_CODE_MAX (50u << 20)
enum { FN_COMMAND_MAX_ARGS = 32, FN_COMMAND_MAX_BYTES = 4096 };

typedef struct fn_input {
    fn_config_t cfg; /* values of the fields that are present */
    bool has_runtime, has_handler, has_env, has_memory, has_timeout, has_concurrency, has_idle;
    bool has_style, has_reuse, has_mode, has_command, has_label, has_description, has_isolation, has_auth;
    bool has_network, has_egress_allow;
    const char *code; /* inline source, borrowed from the parsed JSON */
    size_t code_len;
    unsigned char *zip; /* decoded zip archive, owned */
    size_t zip_len;
} fn_input_t;

bool fn_name_valid(const char *name);

/* Splits "module.function" (or "function", which means the runtime's default
 * module). Returns false, with a message in err, when the handler is bad. */
bool handler_split(const char *handler, const runtime_def_t *rt, char module[FN_HANDLER_MAX + 1],
                   char func[FN_HANDLER_MAX + 1], char *err, size_t errlen);

/* Parses body into in. create demands name, runtime and code; an update takes
 * any subset. Returns 0, or -1 with a message for the caller in err. */
int fn_input_parse(json_t *body, bool create, fn_input_t *in, char *err, size_t errlen);
void fn_input_clear(fn_input_t *in);
