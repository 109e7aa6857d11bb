#pragma once
/* Glambdar's routes (routes_glambdar.c): POST /deploy here; POST
 * /invoke/{name}, GET /info[/{name}] and DELETE /del/{name} are the REST
 * handlers under Glambdar's paths (api/route.c). */
#include <event2/http.h>

void api_glambdar_deploy(struct evhttp_request *req);
