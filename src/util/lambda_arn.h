#pragma once
/* The names (ARNs) Lambda gives a function, in this daemon's one region and
 * account: shared by the Lambda API's answers, the invocation records and
 * the Runtime API's Lambda-Runtime-Invoked-Function-Arn. */
#include <stddef.h>

#define LAMBDA_ACCOUNT "000000000000"
#define LAMBDA_REGION "us-east-1"
/* A function's ARN is this and its name. */
#define LAMBDA_FUNCTION_ARN_PREFIX "arn:aws:lambda:" LAMBDA_REGION ":" LAMBDA_ACCOUNT ":function:"
/* Room for any function's ARN with a qualifier (64-byte name, 128-byte
 * qualifier at most). */
enum { LAMBDA_ARN_MAX = 256 };

/* arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] into out (NULL or
 * "" qualifier: none). */
void lambda_function_arn(char out[LAMBDA_ARN_MAX], const char *name, const char *qualifier);
