// Drives sqlmcp with the official TypeScript SDK client (v1,
// @modelcontextprotocol/sdk), as .ci/interop runs it:
//
//   node interop-ts.mjs NODE_MODULES stdio BINARY
//   node interop-ts.mjs NODE_MODULES http URL
//
// initialize, tools/list (the four tools, each with an output schema), one
// tools/call of each tool and ping. The SDK's callTool validates each
// result's structuredContent against the output schema tools/list returned,
// so a result that breaks its schema fails here. Prints one summary line on
// success; on failure, the error (and, for stdio, the server's log) on
// stderr and exit 1.
import { createRequire } from "node:module";
import { join } from "node:path";

const [nodeModules, mode, target] = process.argv.slice(2);
if (!nodeModules || !target || (mode !== "stdio" && mode !== "http")) {
  console.error("usage: interop-ts.mjs NODE_MODULES stdio BINARY | NODE_MODULES http URL");
  process.exit(2);
}
// The SDK lives in the CI cache, not next to this file: resolve it there.
const require = createRequire(join(nodeModules, "/"));
const { Client } = require("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = require("@modelcontextprotocol/sdk/client/stdio.js");
const { StreamableHTTPClientTransport } = require("@modelcontextprotocol/sdk/client/streamableHttp.js");

const wantTools = ["describe_table", "list_tables", "query", "search"];
const timeout = 20_000;
let serverLog = "";

function check(ok, what) {
  if (!ok) throw new Error(what);
}

async function run() {
  const transport =
    mode === "http"
      ? new StreamableHTTPClientTransport(new URL(target))
      : new StdioClientTransport({ command: target, args: ["--demo"], stderr: "pipe" });
  transport.stderr?.on("data", (b) => (serverLog += b));
  // The client tells the transport the negotiated version; stdio has no
  // setter, so record it whichever transport this is.
  let protocol = "?";
  const setter = transport.setProtocolVersion?.bind(transport);
  transport.setProtocolVersion = (v) => {
    protocol = v;
    setter?.(v);
  };

  const client = new Client({ name: "sqlmcp-ci-interop", version: "0" });
  await client.connect(transport, { timeout });
  try {
    const { tools } = await client.listTools(undefined, { timeout });
    const names = tools.map((t) => t.name).sort();
    check(JSON.stringify(names) === JSON.stringify(wantTools), `tools/list: got ${JSON.stringify(names)}, want ${JSON.stringify(wantTools)}`);
    for (const t of tools) check(t.outputSchema, `tools/list: ${t.name} has no outputSchema`);

    const call = async (name, args) => {
      const r = await client.callTool({ name, arguments: args }, undefined, { timeout });
      check(!r.isError, `${name}: isError: ${JSON.stringify(r.content)}`);
      check(r.structuredContent, `${name}: no structuredContent`);
      return r.structuredContent;
    };
    const q = await call("query", { sql: "SELECT count(*) AS n FROM artist" });
    check(q.rows?.length === 1 && q.rows[0][0] > 0, `query: rows ${JSON.stringify(q.rows)}`);
    const l = await call("list_tables", {});
    check(l.tables?.some((t) => t.name === "artist"), `list_tables: no artist in ${JSON.stringify(l.tables)}`);
    const d = await call("describe_table", { table_name: "artist" });
    check(d.columns?.length > 0, `describe_table: no columns in ${JSON.stringify(d)}`);
    const f = await call("search", { pattern: "artist_id" });
    check(f.matches?.some((m) => m.table === "album" && m.name === "artist_id"), `search: no album.artist_id in ${JSON.stringify(f)}`);

    const p = await client.ping({ timeout });
    check(p && typeof p === "object", `ping: ${JSON.stringify(p)}`);
    return `protocol ${protocol}; ${tools.length} tools; query, list_tables, describe_table, search (outputSchema-validated); ping`;
  } finally {
    await client.close();
  }
}

try {
  console.log(await run());
} catch (err) {
  console.error(`typescript-sdk ${mode}: ${err?.stack ?? err}`);
  if (serverLog) console.error(`--- sqlmcp log ---\n${serverLog}`);
  process.exit(1);
}
