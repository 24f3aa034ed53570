import { spawn } from 'node:child_process';
import { freePort } from '../controlplane/controlplane.js';

/** Starts the built entrypoint, as the package's image does. */
export function startMain(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, ['dist/bundle/function/main.mjs', ...args], {
    env: { ...process.env, ...env },
  });
  let output = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters.filter((w) => output.includes(w.text))) waiter.resolve();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  );
  return {
    child,
    exited,
    printed: (text: string) =>
      new Promise<void>((resolve) => {
        if (output.includes(text)) resolve();
        else waiters.push({ text, resolve });
      }),
  };
}

/** The built function serving plaintext on a free loopback port, as `crossplane render` dials it. */
export async function serveForRender(): Promise<{ address: string; stop(): Promise<void> }> {
  const port = await freePort();
  const main = startMain(['--insecure', '--address', `127.0.0.1:${port}`]);
  const exited = await Promise.race([main.printed('function listening'), main.exited]);
  if (exited) throw new Error(`the function exited (${exited.code}): ${exited.output}`);
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      main.child.kill('SIGTERM');
      await main.exited;
    },
  };
}
