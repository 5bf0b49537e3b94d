import { fork } from 'node:child_process';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
const child = fork('/work/main/dist/server.js', ['--node-ipc'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
let n=0; conn.onNotification('repopot/status', (s) => { if (n++ % 20 === 0 || s.state !== 'ingesting') console.log('status', JSON.stringify(s)); });
conn.onNotification('window/logMessage', (m) => console.log('log', m.message));
conn.onNotification('$/progress', (p) => process.stdout.write(JSON.stringify(p.value) + '\n'));
conn.listen();
const root = '/work/main/server/src';
await conn.sendRequest('initialize', { processId: process.pid, rootUri: 'file://' + root, capabilities: {}, workspaceFolders: [{ uri: 'file://' + root, name: 'x' }],
  initializationOptions: { settings: { modelPath: '/work/shared/models/stories260K', cacheDir: '/tmp/rp/cache', maxAnswerTokens: 40, cacheBudget: 4096 } } });
conn.sendNotification('initialized', {});
await new Promise((r) => conn.onNotification('repopot/status', (s) => { if (s.state === 'idle' || s.state === 'error') r(); }));
const t0 = Date.now();
const res = await conn.sendRequest('repopot/ask', { question: 'What does the session do?', partialResultToken: 'p1' });
console.log('result', JSON.stringify(res).slice(0, 600), Date.now() - t0, 'ms');
console.log(await conn.sendRequest('repopot/ingestReport'));
await conn.sendRequest('shutdown'); conn.sendNotification('exit');
