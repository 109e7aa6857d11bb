"""A handler function (not a server): impuls.json gives the daemon's
fields as they are; the router's API Gateway v2 event comes in, the
HTTP-shaped result goes out."""
import json


def handler(event, context):
    body = {"message": "Hello from Impuls handler function!", "runtime": "python",
            "method": event["requestContext"]["http"]["method"], "path": event["rawPath"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}
