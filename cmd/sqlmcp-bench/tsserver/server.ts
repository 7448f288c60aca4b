// The seed lesson's TypeScript MCP server, kept as a comparison target for
// sqlmcp-bench (`-compare ts`): the official SDK's low-level Server over
// stdio, a node-postgres Pool from DATABASE_URL, one query tool that checks
// the SQL with zod and runs it with one pool.query. No transaction, no
// timeout: it has none of sqlmcp's safety layers. Not a product.
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import pg from "pg";
import { z } from "zod";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const forbidden = /\b(DROP|DELETE|INSERT|UPDATE|ALTER|CREATE|TRUNCATE|GRANT)\b/i;

const QueryArgs = z.object({
  sql: z
    .string()
    .refine((s) => /^\s*SELECT\b/i.test(s), { message: "Only SELECT statements are allowed" })
    .refine((s) => !forbidden.test(s), { message: "The statement contains a forbidden keyword" }),
  limit: z.number().int().min(1).max(1000).default(100),
});

const server = new Server({ name: "lesson-sql", version: "1.0.0" }, { capabilities: { tools: {} } });

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    {
      name: "query",
      description: "Run a read-only SELECT query against the database",
      inputSchema: {
        type: "object",
        properties: {
          sql: { type: "string", description: "A SELECT statement" },
          limit: { type: "number", description: "Maximum rows to return (default 100)" },
        },
        required: ["sql"],
      },
    },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request) => {
  if (request.params.name !== "query") {
    throw new Error(`Unknown tool: ${request.params.name}`);
  }
  const parsed = QueryArgs.safeParse(request.params.arguments);
  if (!parsed.success) {
    return { content: [{ type: "text", text: `Invalid query: ${parsed.error.message}` }], isError: true };
  }
  const { sql, limit } = parsed.data;
  try {
    const result = await pool.query(`SELECT * FROM (${sql}) AS q LIMIT ${limit}`);
    const lines = result.rows.map((row) => Object.values(row).join("\t"));
    return { content: [{ type: "text", text: `Rows: ${result.rowCount}\n\n${lines.join("\n")}` }] };
  } catch (err) {
    return { content: [{ type: "text", text: `Error: ${(err as Error).message}` }], isError: true };
  }
});

await server.connect(new StdioServerTransport());
