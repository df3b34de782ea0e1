// End-to-end check of `tracetriage lsp` with the protocol libraries VS Code
// is built on (vscode-jsonrpc, vscode-languageserver-protocol). It starts
// the server, opens one Python file, asks for hover, inlay hints and code
// lenses on it, collects the diagnostics the server publishes, and prints
// everything as one JSON object on stdout for the Go test to check.
//
// Usage: node client.js BIN ROOT FILE TRACE LINE
'use strict';

const cp = require('node:child_process');
const fs = require('node:fs');
const { pathToFileURL } = require('node:url');
const rpc = require('vscode-jsonrpc/node');
const lsp = require('vscode-languageserver-protocol');

const [bin, root, file, trace, lineArg] = process.argv.slice(2);
const line = Number(lineArg);
const out = { messages: [], diagnostics: [], refreshes: 0 };

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const proc = cp.spawn(bin, ['lsp', '-poll', '200ms'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = rpc.createMessageConnection(
    new rpc.StreamMessageReader(proc.stdout),
    new rpc.StreamMessageWriter(proc.stdin),
  );
  const uri = pathToFileURL(file).href;
  conn.onNotification(lsp.PublishDiagnosticsNotification.type, (p) => {
    if (p.uri === uri) out.diagnostics = p.diagnostics;
  });
  conn.onNotification(lsp.ShowMessageNotification.type, (p) => out.messages.push(p));
  conn.onNotification(lsp.LogMessageNotification.type, () => {});
  conn.onRequest(lsp.CodeLensRefreshRequest.type, () => { out.refreshes++; return null; });
  conn.onRequest(lsp.InlayHintRefreshRequest.type, () => { out.refreshes++; return null; });
  conn.listen();

  const init = await conn.sendRequest(lsp.InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(root).href,
    workspaceFolders: [{ uri: pathToFileURL(root).href, name: 'ws' }],
    capabilities: {
      workspace: { codeLens: { refreshSupport: true }, inlayHint: { refreshSupport: true } },
      textDocument: { hover: { contentFormat: ['markdown', 'plaintext'] } },
    },
    initializationOptions: { tracetriage: { trace } },
  });
  out.capabilities = init.capabilities;
  out.serverInfo = init.serverInfo;
  await conn.sendNotification(lsp.InitializedNotification.type, {});
  await conn.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'python', version: 1, text: fs.readFileSync(file, 'utf8') },
  });

  const doc = { uri };
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const h = await conn.sendRequest(lsp.HoverRequest.type, { textDocument: doc, position: { line, character: 2 } });
    if (h) { out.hover = h; break; }
    await sleep(100);
  }
  out.inlayHints = await conn.sendRequest(lsp.InlayHintRequest.type, {
    textDocument: doc,
    range: { start: { line: 0, character: 0 }, end: { line: line + 1, character: 0 } },
  });
  out.codeLenses = await conn.sendRequest(lsp.CodeLensRequest.type, { textDocument: doc });
  const diagDeadline = Date.now() + 5000;
  while (out.diagnostics.length === 0 && Date.now() < diagDeadline) await sleep(50);

  await conn.sendRequest(lsp.ShutdownRequest.type);
  await conn.sendNotification(lsp.ExitNotification.type);
  out.exitCode = await new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  conn.dispose();
}

main().then(
  () => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (err) => { out.error = String(err && err.stack || err); process.stdout.write(JSON.stringify(out) + '\n'); process.exitCode = 1; },
);
