import { spawn } from 'node:child_process';
import { freePort } from './net.js';

/** Starts the built entrypoint, as the package's image does (`nodeFlags` as its entrypoint's). */
export function startMain(args: string[], env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []) {
  const child = spawn(process.execPath, [...nodeFlags, 'dist/bundle/function/main.mjs', ...args], {
    env: { ...process.env, ...env },
  });
  let output = '';
  let waiters: { text: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of waiters.filter((w) => output.includes(w.text))) waiter.resolve();
    waiters = waiters.filter((w) => !output.includes(w.text));
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
  }>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const waiter of waiters) {
        waiter.reject(
          new Error(`exited (${code ?? signal}) before printing ${waiter.text}:\n${output}`),
        );
      }
      waiters = [];
      resolve({ code, signal, output });
    }),
  );
  return {
    child,
    exited,
    output: () => output,
    /** Resolves once the process has printed `text`; rejects if it exits first. */
    printed: (text: string) =>
      new Promise<void>((resolve, reject) => {
        if (output.includes(text)) resolve();
        else if (child.exitCode !== null || child.signalCode !== null) {
          reject(new Error(`exited before printing ${text}:\n${output}`));
        } else waiters.push({ text, resolve, reject });
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
