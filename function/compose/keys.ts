import { readinessKey, toolKey, usageKey } from '../../common/contract.js';

/**
 * The contract's keys of a tool's composed resources (common/contract.ts), each string made once
 * per tool name: every call looks each of them up several times, and a string made anew is hashed
 * anew. Bounded, and forgotten all at once.
 */
class ToolKeys {
  readonly release: string;
  readonly usage: string;
  private usagesOn: Map<string, string> | undefined = undefined;
  private readinessKeys: string[] | undefined = undefined;

  constructor(private readonly tool: string) {
    this.release = toolKey(tool);
    this.usage = usageKey(tool);
  }

  /** Its Usage of the tool it depends on, `dependency`. */
  usageOn(dependency: string): string {
    this.usagesOn ??= new Map();
    let key = this.usagesOn.get(dependency);
    if (key === undefined) {
      key = usageKey(this.tool, dependency);
      this.usagesOn.set(dependency, key);
    }
    return key;
  }

  /** The Object that reads its `n`th readiness check. */
  readiness(n: number): string {
    this.readinessKeys ??= [];
    return (this.readinessKeys[n] ??= readinessKey(this.tool, n));
  }
}

const MAX_TOOLS = 4096;
const byTool = new Map<string, ToolKeys>();

export function keysOf(tool: string): ToolKeys {
  let keys = byTool.get(tool);
  if (keys === undefined) {
    if (byTool.size >= MAX_TOOLS) byTool.clear();
    keys = new ToolKeys(tool);
    byTool.set(tool, keys);
  }
  return keys;
}
