import type { Chart } from './model.js';
import { read } from './untrusted-input.js';

/** A chart reference from the catalogue, for a tool or a cluster backend. */
export function parseChart(value: unknown, field: string): Chart {
  const chart = read.object(value, field);
  return {
    repository: read.string(chart.repository, `${field}.repository`),
    name: read.string(chart.name, `${field}.name`),
    version: read.string(chart.version, `${field}.version`),
  };
}
