# The handler every Python benchmark runs: through Impuls and in the bare server.
def handler(event, context):
    return {"statusCode": 200, "body": "Hello from Impuls!"}
