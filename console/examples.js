// examples.js: a starting handler per runtime language (docs/runtimes.md), so a new
// function works on its first invoke. Keyed by the `language` of GET /api/v1/runtimes.

const NODE = `exports.handler = async (event, context) => {
  const name = (event && event.name) || 'World';
  console.log('called with', JSON.stringify(event));
  return { statusCode: 200, body: 'Hello, ' + name + '!' };
};
`;

const PYTHON = `def handler(event, context):
    name = event.get("name", "World") if isinstance(event, dict) else "World"
    print("called with", event)
    return {"statusCode": 200, "body": f"Hello, {name}!"}
`;

const GO = `package main

import "context"

func Handler(ctx context.Context, event map[string]interface{}) (interface{}, error) {
	name, _ := event["name"].(string)
	if name == "" {
		name = "World"
	}
	return map[string]interface{}{"statusCode": 200, "body": "Hello, " + name + "!"}, nil
}
`;

const CSHARP = `namespace Function
{
    public class Function
    {
        public string FunctionHandler(string input)
        {
            System.Console.WriteLine("called with " + input);
            return "Hello from C#: " + input;
        }
    }
}
`;

// handler: the default for that language; code: '' where inline code cannot work.
const EXAMPLES = {
  nodejs: { handler: 'index.handler', code: NODE },
  python: { handler: 'index.handler', code: PYTHON },
  go: { handler: 'Handler', code: GO },
  csharp: { handler: 'Function::Function.Function::FunctionHandler', code: CSHARP },
  custom: {
    handler: 'bootstrap', code: '',
    hint: "Runtime 'provided' needs a zip holding its executable; the console sends inline code only. Use `impuls deploy` or the API's zip field.",
  },
};

export function exampleFor(language) {
  return EXAMPLES[language] || { handler: 'index.handler', code: '' };
}
