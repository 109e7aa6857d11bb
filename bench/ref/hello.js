// The handler every Node benchmark runs: through Impuls and in the bare server.
exports.handler = async (event) => ({ statusCode: 200, body: "Hello from Impuls!" });
