// Package transport is how sqlmcp writes MCP answers: its stdio transport
// and the Splicer that both transports write results through. It is the
// one seam where sqlmcp relies on go-sdk behaviour the SDK does not
// document; nothing else in the module does.
//
// # What it buys
//
// The go-sdk encodes a tools/call result with encoding/json, which
// re-validates and compacts the output of every MarshalJSON it calls: a
// query's structuredContent is scanned twice and its text three times,
// and the stock stdio transport compacts the whole message once more. The
// Splicer parks the large values before the SDK sees them and puts them
// back as the answer is written (see Splicer); Stdio writes the SDK's
// Result bytes without re-compacting them. Encoding a 100-row result
// (BenchmarkEncodeResult, BENCHMARKS.md) costs 687 µs the SDK's way and
// 55 µs through the Splicer; per call, server CPU for a 100-row
// PostgreSQL query over stdio went from 1.35 to 0.89 ms, and a 1000-row
// page over HTTP from 10.3 to 4.0 ms.
//
// # The seam
//
//   - Splice installs a Splicer on a server; HTTPWriter wraps the
//     ResponseWriter of the SDK's streamable handler so that every Write is
//     expanded.
//   - NewStdio returns the stdio transport (a fork of the SDK's IOTransport)
//     answering through a Splicer.
//   - WithEarlyErrors rewrites, on HTTP, the answers the SDK gives a call
//     before any handler ran; Stdio does the same for stdio.
//
// Without the Splicer (a Stdio whose Splicer is nil, or the SDK's own
// transports) every answer is still correct, only slower: the fallback if
// an SDK upgrade breaks an assumption below.
//
// # What it assumes of the go-sdk
//
// Each is checked against the SDK in go.mod by TestSDKAssumptions (the
// subtest named in brackets) or by the compiler:
//
//  1. The last receiving middleware added is the outermost, so the
//     Splicer's sees the result last ["the last receiving middleware added
//     is the outermost"].
//  2. A tools/call result reaches the receiving middleware as the
//     *mcp.CallToolResult the handler returned, and is encoded after it
//     returns, without being read again (no validation or copy of
//     structuredContent into content): each parked value appears exactly
//     once in the encoded Result ["a tools/call result is encoded after the
//     outermost middleware…"].
//  3. A json.RawMessage structuredContent, and a TextContent's text, are
//     written as JSON strings whose bytes are the marker verbatim (no
//     escaping of ASCII letters, digits and '-'), and the expanded answer
//     decodes to what the SDK would have written [same subtest].
//  4. Every Result the SDK hands a Connection is already compact, and
//     jsonrpc.EncodeMessage writes a response as an envelope that ends with
//     "result":<Result>} with the Result unchanged, so Stdio can write the
//     envelope and the Result bytes itself ["a Result is compact, and
//     EncodeMessage writes it last and unchanged"]; stdio_test.go checks
//     the resulting transcripts equal mcp.IOTransport's.
//  5. The answer to initialize carries protocolVersion, from which Stdio
//     decides whether batches are allowed (the SDK's ioConn uses an
//     internal hook) ["early errors, and initialize naming the protocol
//     version"].
//  6. The SDK answers a call cancelled while queued with an error of code 0
//     ("context canceled"), and a call before initialize with a plain error
//     naming "session initialization", before any middleware runs:
//     fixEarlyError recognises both [same subtest]. A call refused while
//     the session closes carries jsonrpc2.ErrServerClosing's code -32004
//     (internal to the SDK; not checked).
//  7. The streamable HTTP handler writes each message (an SSE event or a
//     JSON body) in one Write on the ResponseWriter it is given, so a marker
//     or an early error is never split across two ["streamable HTTP writes
//     each message in one Write"]; it stores no events unless given an
//     EventStore (sqlmcp gives none; cmd/sqlmcp refuses one).
//  8. The streamable handler itself refuses a duplicate in-flight request
//     id, with a message starting "duplicate in-flight request ID", which
//     earlyErrorWriter audits ["streamable HTTP refuses a duplicate
//     in-flight id itself…"].
//  9. mcp.Transport, mcp.Connection, the jsonrpc message types and
//     constructors (DecodeMessage, EncodeMessage, MakeID, a comparable ID)
//     keep the shapes Stdio implements and uses (the compiler: the
//     interface checks in stdio.go).
package transport
