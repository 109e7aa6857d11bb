/* Lambda's function ARNs (lambda_arn.h). */
#include "util/lambda_arn.h"

#include <stdbool.h>
#include <stdio.h>

void lambda_function_arn(char out[LAMBDA_ARN_MAX], const char *name, const char *qualifier)
{
    bool qualified = qualifier && *qualifier;
    snprintf(out, LAMBDA_ARN_MAX, LAMBDA_FUNCTION_ARN_PREFIX "%.64s%s%.128s", name, qualified ? ":" : "",
             qualified ? qualifier : "");
}
