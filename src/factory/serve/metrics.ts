// Prometheus metrics of `kiln factory serve`, registered on an injected prom-client registry.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { JobQueue } from '../queue/port.ts';

/** The factory's metrics. */
export interface FactoryMetrics {
  runsTotal: Counter<'result'>;
  runDuration: Histogram;
  imagesPublished: Counter;
  cvesOpen: Gauge;
  queueJobs: Gauge<'state'>;
}

/** Registers the factory's metrics on `registry`; the queue gauge reads `queue` at each scrape. */
export function createFactoryMetrics(registry: Registry, queue: JobQueue): FactoryMetrics {
  const registers = [registry];
  return {
    runsTotal: new Counter({ name: 'kiln_factory_runs_total', help: 'Factory runs by result (success, failure: finished with failed items, error: did not finish)', labelNames: ['result'] as const, registers }),
    runDuration: new Histogram({
      name: 'kiln_factory_run_duration_seconds',
      help: 'Duration of factory runs',
      buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14_400],
      registers,
    }),
    imagesPublished: new Counter({ name: 'kiln_factory_images_published_total', help: 'Images published with a new digest by factory runs', registers }),
    cvesOpen: new Gauge({ name: 'kiln_factory_cves_open', help: 'Open CVEs across the catalog after the last run that scanned', registers }),
    queueJobs: new Gauge({
      name: 'kiln_factory_queue_jobs',
      help: 'Jobs in the factory queue by state',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const counts = await queue.counts();
        for (const [state, value] of Object.entries(counts)) this.set({ state }, value);
      },
    }),
  };
}
