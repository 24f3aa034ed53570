/**
 * The Dockerfile's runtime stage, read as data: what the image holds and how it runs. The image
 * built without Docker (runtime-image.ts) and the tests that run the function as the image does
 * both read it from here, so neither can drift from the Dockerfile.
 */
import { readFileSync } from 'node:fs';

export interface RuntimeStage {
  /** The base image (`FROM`), and the major version of Node.js its name says. */
  base: string;
  nodeMajor: number;
  workdir: string;
  /** `COPY --from=<build stage>` sources (paths in the build stage) and their destination. */
  copies: { from: string; to: string }[];
  env: Record<string, string>;
  exposedPorts: string[];
  user: string;
  entrypoint: string[];
  /** The build stage's working directory, against which `copies[].from` are relative. */
  buildWorkdir: string;
}

const instruction = (stage: string, name: string): string[] =>
  [...stage.matchAll(new RegExp(`^${name} (.+)$`, 'gm'))].map((m) => m[1]!.trim());

function one(stage: string, name: string): string {
  const found = instruction(stage, name);
  if (found.length !== 1) throw new Error(`the Dockerfile's runtime stage needs one ${name}`);
  return found[0]!;
}

/** Reads `text`, a Dockerfile of two stages: a build stage, then the runtime stage. */
export function readRuntimeStage(text: string): RuntimeStage {
  const stages = text.split(/^(?=FROM )/m).filter((s) => s.startsWith('FROM '));
  if (stages.length !== 2) throw new Error('the Dockerfile must have a build and a runtime stage');
  const [build, runtime] = stages as [string, string];
  const buildName = /^FROM \S+ AS (\S+)/m.exec(build)?.[1];
  const base = /^FROM (\S+)/.exec(runtime)![1]!;
  const nodeMajor = Number(/nodejs(\d+)|node:(\d+)/.exec(base)?.slice(1).find(Boolean));
  if (!buildName || !Number.isInteger(nodeMajor)) {
    throw new Error(
      `the Dockerfile's stages are not "FROM … AS build" then a Node.js base: ${base}`,
    );
  }

  const copies = instruction(runtime, 'COPY').map((args) => {
    const match = new RegExp(`^--from=${buildName} (\\S+) (\\S+)$`).exec(args);
    if (!match) throw new Error(`the runtime stage copies only from ${buildName}: COPY ${args}`);
    return { from: match[1]!, to: match[2]! };
  });
  const env: Record<string, string> = {};
  for (const pairs of instruction(runtime, 'ENV')) {
    for (const pair of pairs.split(/\s+/)) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\s]*)$/.exec(pair);
      if (!match) throw new Error(`the Dockerfile's ENV has a form this does not read: ${pair}`);
      env[match[1]!] = match[2]!;
    }
  }
  const entrypoint = JSON.parse(one(runtime, 'ENTRYPOINT')) as unknown;
  if (!Array.isArray(entrypoint) || entrypoint.some((part) => typeof part !== 'string')) {
    throw new Error('the Dockerfile has no ENTRYPOINT in exec form');
  }
  return {
    base,
    nodeMajor,
    workdir: one(runtime, 'WORKDIR'),
    copies,
    env,
    exposedPorts: instruction(runtime, 'EXPOSE').flatMap((ports) => ports.split(/\s+/)),
    user: one(runtime, 'USER'),
    entrypoint: entrypoint as string[],
    buildWorkdir: one(build, 'WORKDIR'),
  };
}

/** The project's Dockerfile. */
export const RUNTIME_STAGE: RuntimeStage = readRuntimeStage(
  readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'),
);

/** The flags of `[node, ...flags, script]`. */
export function nodeFlags(command: readonly string[], what: string): string[] {
  const flags = command.slice(1, -1);
  if (flags.some((flag) => !flag.startsWith('--'))) {
    throw new Error(`${what} is not node, flags, script: ${JSON.stringify(command)}`);
  }
  return flags;
}
