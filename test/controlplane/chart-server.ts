/**
 * A Helm chart repository over HTTP, as its own process: serves the flat folder given as the first
 * argument (index.yaml and chart archives) at the address and port given as the second and third,
 * logging one line per request. Started by chart-repository.ts with `node --import tsx`.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { basename, join } from 'node:path';

const [dir, address, port] = process.argv.slice(2);
if (!dir || !address || !port) {
  console.error('usage: chart-server.ts <dir> <address> <port>');
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
server.listen(Number(port), address, () => console.log(`serving ${dir} on ${address}:${port}`));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => server.close(() => process.exit(0)));
}
