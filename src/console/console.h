#pragma once
/* The web console's static files (docs/console.md): GET /console/ and
 * /console/{file}, served as they are from the tree's console/ folder beside
 * the binary (installed: share/impuls/console), found at start (serve.c). */
#include <event2/http.h>

/* file: the one path segment after /console/, "" for the folder itself. */
void console_file(struct evhttp_request *req, const char *file);
