/** RunFunction with a backend registry of the test's own. */
import { describe, expect, it } from 'vitest';
import { Ready, Severity, Target } from '@crossplane-org/function-sdk-typescript';
import type { BackendRegistry, ClusterBackend } from '../../../../function/backends/backend.js';
import { vcluster, type VclusterSettings } from '../../../../function/backends/vcluster.js';
import { runFunction } from '../../../../function/run-function.js';
import { capturedLogger } from '../../../support/logs.js';
import { request, xEnvironment } from '../../../support/requests.js';
import { catalog, fatalMessage, twoTools, upCluster } from '../../../support/run-function.js';

describe('RunFunction with the backends it is given', () => {
  /** The shipped registry with vcluster's methods replaced by `overrides`. */
  const vclusterWith = (overrides: Partial<ClusterBackend<VclusterSettings>>): BackendRegistry =>
    new Map([['vcluster', { ...vcluster, ...overrides } as ClusterBackend]]);

  it('checks the claim with its backend before composing anything: Fatal InvalidInput, logged naming the XR', async () => {
    const { logger, lines } = capturedLogger();
    let rendered = 0;
    const backends = vclusterWith({
      render: (...args) => {
        rendered++;
        return vcluster.render(...args);
      },
    });
    const req = request(xEnvironment({ cluster: { kubernetesVersion: '1.20' } }), catalog);
    const rsp = await runFunction(req, { logger, backends });
    expect(rsp.results).toEqual([
      {
        severity: Severity.SEVERITY_FATAL,
        message:
          'spec.cluster.kubernetesVersion: "1.20" is not offered (offered: 1.32, 1.33, 1.34)',
        reason: 'InvalidInput',
        target: Target.TARGET_COMPOSITE_AND_CLAIM,
      },
    ]);
    expect(rendered).toBe(0);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 40, tag: 'test', xr: 'XEnvironment dev-x7k2p' }),
    );
    // The same claim with an offered version renders through the same backend.
    const fine = request(xEnvironment({ cluster: { kubernetesVersion: '1.33' } }), catalog);
    expect(fatalMessage(await runFunction(fine, { backends }))).toBeUndefined();
    expect(rendered).toBe(1);
  });

  it('answers a failure of its own with a Fatal InternalError for the platform team, logged with its stack', async () => {
    const { logger, lines } = capturedLogger();
    const backends = vclusterWith({
      render: () => {
        throw new TypeError('boom');
      },
    });
    const req = request(xEnvironment(twoTools), catalog, upCluster());
    req.desired!.resources['earlier-step'] = {
      resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' } },
      connectionDetails: {},
      ready: Ready.READY_TRUE,
    };
    const desiredBefore = structuredClone(req.desired);
    const rsp = await runFunction(req, { logger, backends });
    expect(rsp.results).toEqual([
      {
        severity: Severity.SEVERITY_FATAL,
        message: 'internal error: RunFunction failed: boom',
        reason: 'InternalError',
        target: Target.TARGET_COMPOSITE,
      },
    ]);
    expect(rsp.desired).toEqual(desiredBefore);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        tag: 'test',
        xr: 'XEnvironment dev-x7k2p',
        error: 'boom',
        stack: expect.stringContaining('TypeError: boom'),
      }),
    );
  });
});
