// A minimal VS Code extension that runs `tracetriage lsp` for Python files.
// Settings under "tracetriage" go to the server as initializationOptions and
// again on every change (workspace/didChangeConfiguration).
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function settings() {
  const c = vscode.workspace.getConfiguration('tracetriage');
  return {
    tracetriage: {
      trace: c.get('trace'),
      traceDir: c.get('traceDir'),
      mapping: c.get('mapping'),
      formal: c.get('formal'),
      stage: c.get('stage'),
      hotLines: c.get('hotLines'),
    },
  };
}

async function activate(context) {
  const command = vscode.workspace.getConfiguration('tracetriage').get('path') || 'tracetriage';
  client = new LanguageClient(
    'tracetriage',
    'tracetriage',
    { command, args: ['lsp'], transport: TransportKind.stdio },
    {
      documentSelector: [{ scheme: 'file', language: 'python' }],
      initializationOptions: settings(),
    },
  );
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('tracetriage') && client) {
        client.sendNotification('workspace/didChangeConfiguration', { settings: settings() });
      }
    }),
  );
  await client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
