/**
 * A Helm chart repository over HTTP, as its own process: serves the flat folder given as the first
 * argument (index.yaml and chart archives) on 127.0.0.1 at the port given as the second, logging
 * one line per request. Started by chart-repository.ts with `node --import tsx`.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, join } from 'node:path';

const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
  console.error('usage: chart-server.ts <dir> <port>');
  process.exit(2);
}

const server = createServer((req, res) => {
  const name = basename(new URL(req.url ?? '/', 'http://localhost').pathname);
  readFile(join(dir, name)).then(
    (body) => {
      console.log(`${req.method} ${req.url} 200 ${body.length}`);
      res.writeHead(200, {
        'content-type': name.endsWith('.yaml') ? 'application/yaml' : 'application/gzip',
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
    () => {
      console.log(`${req.method} ${req.url} 404`);
      res.writeHead(404).end();
    },
  );
});
server.listen(Number(port), '127.0.0.1', () => console.log(`serving ${dir} on 127.0.0.1:${port}`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
