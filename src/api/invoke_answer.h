#pragma once
/* An invocation for an HTTP client: started on the pool, and its outcome
 * (pool.h) made into the answer each front end gives. */
#include <event2/http.h>
#include <stdbool.h>

#include "pool/pool.h"

enum answer_style {
    ANSWER_REST,   /* Impuls's invoke and Glambdar's: the result mapped (result.h), errors as error_body */
    ANSWER_LAMBDA, /* the Lambda Invoke API: the payload as it is (200; function and runtime errors as 200
                    * with X-Amz-Function-Error), the platform's errors in Lambda's shape */
    ANSWER_APIGW,  /* an API Gateway payload 2.0 event (router, chambers): the result as API Gateway maps it */
};

/* Invokes fn with event (taken over) and answers req when it is done. */
void answer_invoke(fn_t *fn, enum sandbox_backend backend, struct evhttp_request *req, struct evbuffer *event,
                   bool want_log_tail, enum answer_style style);
/* An HTTP-server function: the request goes to its server and the answer
 * streams back; a call that fails before is answered as ANSWER_REST. */
void answer_invoke_direct(fn_t *fn, struct evhttp_request *req, const char *path);
