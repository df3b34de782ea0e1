// End-to-end driver for `tracetriage mcp`, written against the official MCP
// TypeScript SDK client. It connects over stdio (spawning the server) or
// streamable HTTP, lists the tools, calls each on real traces, checks the
// structured results, and prints a JSON report on stdout.
//
// Usage: node client.mjs PLAN.json
//
// The plan: {"transport": "stdio"|"http", "command", "args", "cwd" (stdio),
// "url" (http), "expectTools": [...], "trace" (analysed), "before" and
// "after" (compared), "roots" and "outsideClientRoots" (client roots check),
// "extraCalls": [{"name", "args", "expectError", "expectText"}]}.
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { pathToFileURL } from 'node:url';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = { transport: plan.transport, tools: [], calls: [], errors: [] };

function fail(msg) {
  report.errors.push(msg);
  throw new Error(msg);
}
function check(cond, msg) {
  if (!cond) fail(msg);
}
function text(res) {
  return (res.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('');
}

// With plan.roots the client offers MCP roots (its "workspace folders").
const client = new Client(
  { name: 'tracetriage-e2e', version: '1.0.0' },
  { capabilities: plan.roots ? { roots: { listChanged: true } } : {} },
);
if (plan.roots) {
  report.rootsRequests = 0;
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    report.rootsRequests++;
    return { roots: plan.roots.map((p) => ({ uri: pathToFileURL(p).href, name: p })) };
  });
}
client.onerror = (err) => report.errors.push(`client error: ${err?.message ?? err}`);

let transport;
if (plan.transport === 'stdio') {
  transport = new StdioClientTransport({
    command: plan.command,
    args: plan.args,
    cwd: plan.cwd,
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => { stderr += d; });
  process.on('exit', () => { report.serverStderr = stderr.slice(-2000); });
} else {
  transport = new StreamableHTTPClientTransport(new URL(plan.url));
}
// A line on stdout that is not JSON-RPC makes the SDK report an error.
transport.onerror = (err) => report.errors.push(`transport error: ${err?.message ?? err}`);

async function call(name, args, opts = {}) {
  let progress = 0;
  const started = performance.now();
  const res = await client.callTool({ name, arguments: args }, undefined, {
    timeout: 300_000,
    onprogress: opts.progress ? () => { progress++; } : undefined,
  });
  const entry = {
    name,
    args,
    isError: !!res.isError,
    text: text(res),
    structured: res.structuredContent ?? null,
    ms: performance.now() - started,
    progress,
  };
  report.calls.push(entry);
  return entry;
}

async function main() {
  await client.connect(transport);
  const { tools } = await client.listTools();
  report.tools = tools.map((t) => t.name);
  for (const want of plan.expectTools) {
    check(report.tools.includes(want), `tool ${want} missing from tools/list: ${report.tools}`);
  }
  for (const t of tools) {
    check(t.outputSchema?.type === 'object', `${t.name} has no output schema`);
    check(t.inputSchema?.type === 'object', `${t.name} has no input schema`);
  }

  // analyze_trace, cold then warm. The SDK validates structuredContent
  // against the output schema from tools/list.
  const cold = await call('analyze_trace', { input: plan.trace }, { progress: true });
  check(!cold.isError, `analyze_trace failed: ${cold.text}`);
  const doc = cold.structured;
  check(doc && doc.schema_version === 1, `analyze_trace: no analysis document: ${JSON.stringify(doc)?.slice(0, 300)}`);
  check(Array.isArray(doc.stages) && doc.stages.length > 0, 'analyze_trace: no stages');
  check(cold.text.includes('###'), 'analyze_trace: no Markdown text');
  const stage = doc.stages[0];
  check(stage.kernels.length > 0, 'analyze_trace: no kernels in the first stage');
  check(stage.kernels.length <= 8, `analyze_trace: default top_k not applied (${stage.kernels.length} kernels)`);
  check(Array.isArray(doc.totals) && doc.totals[0].kernels >= stage.kernels.length, 'analyze_trace: totals missing');
  check(cold.progress >= 1 || doc.cached, 'analyze_trace: no progress notification on a cold call');
  const warm = await call('analyze_trace', { input: plan.trace, top_k: 3 });
  check(!warm.isError && warm.structured.cached === true, 'analyze_trace: second call was not served from the cache');

  // kernel_sites both ways.
  const k = stage.kernels[0];
  const ks = await call('kernel_sites', { input: plan.trace, kernel: k.name, stage: stage.stage });
  check(!ks.isError, `kernel_sites(kernel) failed: ${ks.text}`);
  check(ks.structured.stages[0].kernels[0].name === k.name, 'kernel_sites(kernel): wrong kernel');
  const site = stage.kernels.flatMap((kr) => kr.sites).find((s) => s.path);
  check(site, 'analyze_trace: no kernel of the first stage has a resolved launch site');
  const bySite = await call('kernel_sites', { input: plan.trace, site: `${site.path}:${site.line}` });
  check(!bySite.isError, `kernel_sites(site) failed: ${bySite.text}`);
  check(bySite.structured.stages.some((s) => s.launched.length > 0), 'kernel_sites(site): nothing launched');

  // compare_traces.
  const cmp = await call('compare_traces', { before: plan.before, after: plan.after });
  check(!cmp.isError, `compare_traces failed: ${cmp.text}`);
  check(cmp.structured.stages.length > 0, 'compare_traces: no stages');

  // Safety: a path outside the roots is a tool error, not a protocol error.
  const bad = await call('analyze_trace', { input: '/etc/passwd' });
  check(bad.isError && bad.text.includes('outside the allowed roots'), `outside path not refused: ${bad.text}`);

  if (plan.roots) {
    check(report.rootsRequests >= 1, 'the server never asked for the client roots');
    if (plan.outsideClientRoots) {
      const out = await call('analyze_trace', { input: plan.outsideClientRoots });
      check(out.isError && out.text.includes('outside the allowed roots'), `file outside the client roots not refused: ${out.text}`);
    }
  }

  for (const c of plan.extraCalls ?? []) {
    const r = await call(c.name, c.args);
    check(r.isError === !!c.expectError, `${c.name}: isError=${r.isError}: ${r.text}`);
    if (c.expectText) check(r.text.includes(c.expectText), `${c.name}: text lacks ${c.expectText}: ${r.text}`);
    if (!c.expectError) check(r.structured !== null, `${c.name}: no structured content`);
  }
  check(report.errors.length === 0, `errors: ${report.errors}`);
}

let code = 0;
try {
  await main();
} catch (err) {
  code = 1;
  if (!report.errors.includes(err.message)) report.errors.push(String(err?.stack ?? err));
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(code);
