import { isObject, type JsonObject } from '../../common/objects.js';
import { ApiError, getObject, resourcePath, type ApiClient } from '../kube/api.js';
import { conditionPatch, shows, type OwnCondition } from './conditions.js';
import type { Discovery } from '../kube/discovery.js';

/** A legacy (v1) XR's claim, as spec.claimRef names it. */
export interface ClaimRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export function claimRefOf(xr: JsonObject): ClaimRef | undefined {
  const spec = isObject(xr.spec) ? xr.spec : {};
  const ref = isObject(spec.claimRef) ? spec.claimRef : {};
  const fields = ['apiVersion', 'kind', 'namespace', 'name'] as const;
  if (fields.some((field) => typeof ref[field] !== 'string' || ref[field] === '')) return undefined;
  return ref as unknown as ClaimRef;
}

/** What the reconciler does to an XR's claim when the environment expires. */
export interface Claims {
  /** Sets `condition` on the claim's status unless it shows it already; gone claims are skipped. */
  setCondition(ref: ClaimRef, condition: OwnCondition, now: Date): Promise<void>;
  /** Deletes the claim, if it still is the claim of XR `xrName` and is not being deleted. */
  delete(ref: ClaimRef, xrName: string): Promise<void>;
}

/**
 * Claims through the API server, their plural found by discovery. Each write is guarded by what
 * was just read (resourceVersion, uid): a conflict throws, and the reconcile runs again.
 */
export class KubeClaims implements Claims {
  constructor(
    private readonly api: Pick<ApiClient, 'send'>,
    private readonly discovery: Discovery,
  ) {}

  private async path(ref: ClaimRef): Promise<string> {
    const served = await this.discovery.byKind(ref.apiVersion, ref.kind);
    if (!served) throw new Error(`${ref.kind}.${ref.apiVersion} is not served`);
    return resourcePath(served, ref.namespace, ref.name);
  }

  async setCondition(ref: ClaimRef, condition: OwnCondition, now: Date): Promise<void> {
    const path = await this.path(ref);
    const claim = await getObject(this.api, path);
    if (!claim || shows(claim, condition)) return;
    await this.api.send('PATCH', `${path}/status`, conditionPatch(claim, condition, now));
  }

  async delete(ref: ClaimRef, xrName: string): Promise<void> {
    const path = await this.path(ref);
    const claim = await getObject(this.api, path);
    const metadata = isObject(claim?.metadata) ? claim.metadata : {};
    const spec = isObject(claim?.spec) ? claim.spec : {};
    const bound = isObject(spec.resourceRef) ? spec.resourceRef.name : undefined;
    if (!claim || bound !== xrName || metadata.deletionTimestamp) return;
    await this.api
      .send('DELETE', path, {
        preconditions: { uid: metadata.uid, resourceVersion: metadata.resourceVersion },
      })
      .catch((error: unknown) => {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      });
  }
}
