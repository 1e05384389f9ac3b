// BullMQ, unchanged, against keyfork: a queue, a worker processing jobs (results, failures,
// retries with backoff, progress), delayed, prioritized and repeatable jobs, parent/child flows, and the
// queue's events read through its stream (QueueEvents blocks in XREAD). BullMQ's work is Lua
// scripts calling XADD, ZADD, HSET, LMOVE... so this is scripting and streams together. Every
// scenario also runs against redis-server and both servers must tell the same story.
import { FlowProducer, Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import Redis from 'ioredis';
import { expect, it } from 'vitest';
import { describeDifferential, type BothServers, useBothServers } from '../helpers/diff';

let servers: BothServers;

/** Runs `scenario` against keyfork and redis-server; both must produce the same outcomes. */
async function bothTell<T>(scenario: (port: number) => Promise<T>): Promise<T> {
  const [k, r] = await Promise.all([scenario(servers.keyfork.port), scenario(servers.redis.port)]);
  expect(k).toEqual(r);
  return k;
}

const connectionTo = (port: number): ConnectionOptions => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null });

/** Resolves once `done()` holds, polling; rejects after `ms`. */
async function until(what: string, done: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The `event` field of every entry of a queue's events stream, per job id, in stream order. */
async function eventsStreamByJob(client: Redis, queue: string): Promise<Record<string, string[]>> {
  const entries = (await client.xrange(`bull:${queue}:events`, '-', '+')) as [string, string[]][];
  const byJob: Record<string, string[]> = {};
  for (const [, fields] of entries) {
    const record = new Map<string, string>();
    for (let i = 0; i < fields.length; i += 2) record.set(fields[i], fields[i + 1]);
    const jobId = record.get('jobId') ?? '-';
    (byJob[jobId] ??= []).push(record.get('event') ?? '?');
  }
  return byJob;
}

describeDifferential('BullMQ against keyfork (and redis-server)', () => {
  useBothServers((s) => (servers = s));

  it('a queue and a worker: results, failures, retries with backoff, progress, delayed and prioritized jobs, events', async () => {
    const story = await bothTell(async (port) => {
      const connection = connectionTo(port);
      const admin = new Redis(port, '127.0.0.1');
      await admin.flushall();
      const queue = new Queue('jobs', { connection });
      // From the stream's start: events written before its first XREAD are heard too.
      const events = new QueueEvents('jobs', { connection, lastEventId: '0-0' });
      await events.waitUntilReady();
      const heard: Record<string, string[]> = {};
      const hear = (name: string) => (args: { jobId: string; returnvalue?: unknown; failedReason?: string; data?: unknown }) =>
        (heard[args.jobId] ??= []).push(
          `${name}${args.returnvalue !== undefined ? ` ${JSON.stringify(args.returnvalue)}` : ''}${args.failedReason ? ` ${args.failedReason}` : ''}${name === 'progress' ? ` ${JSON.stringify(args.data)}` : ''}`,
        );
      for (const name of ['waiting', 'delayed', 'active', 'progress', 'completed', 'failed'] as const) events.on(name, hear(name) as never);
      const processed: string[] = [];
      // Paused until every job is in, so the order the worker takes them is the queue's order.
      const worker = new Worker(
        'jobs',
        async (job: Job) => {
          processed.push(`${job.name}#${job.attemptsMade}`);
          if (job.data.progress) await job.updateProgress({ step: 1 });
          if (job.data.failTimes > job.attemptsMade) throw new Error(`failure ${job.attemptsMade + 1}`);
          return { doubled: job.data.x * 2 };
        },
        { connection, concurrency: 1, autorun: false },
      );
      try {
        await queue.add('plain', { x: 1 }, { jobId: 'plain' });
        await queue.add('progress', { x: 2, progress: true }, { jobId: 'progress' });
        await queue.add('retried', { x: 3, failTimes: 1 }, { jobId: 'retried', attempts: 3, backoff: { type: 'fixed', delay: 700 } });
        await queue.add('exhausted', { x: 4, failTimes: 9 }, { jobId: 'exhausted', attempts: 2 });
        await queue.add('late', { x: 5 }, { jobId: 'late', delay: 2500 });
        await queue.add('soon', { x: 6 }, { jobId: 'soon', delay: 1500 });
        await queue.add('urgent', { x: 7 }, { jobId: 'urgent', priority: 1 });
        await queue.add('lazy', { x: 8 }, { jobId: 'lazy', priority: 9 });
        const countsBefore = await queue.getJobCounts();
        void worker.run();
        await until('all jobs to settle', async () => {
          const c = await queue.getJobCounts('completed', 'failed');
          return c.completed === 7 && c.failed === 1;
        });
        await until('the last events to arrive', () => (heard.late ?? []).some((e) => e.startsWith('completed')));
        const jobs = await Promise.all(['plain', 'progress', 'retried', 'exhausted', 'late', 'soon', 'urgent', 'lazy'].map((id) => queue.getJob(id)));
        return {
          countsBefore,
          countsAfter: await queue.getJobCounts(),
          // Prioritized jobs go after plain waiting ones; the retry waits its backoff; delayed ones in time order.
          processed,
          jobs: jobs.map((j) => j && { id: j.id, returnvalue: j.returnvalue, failedReason: j.failedReason, attemptsMade: j.attemptsMade, progress: j.progress }),
          heard,
          stream: await eventsStreamByJob(admin, 'jobs'),
          completedIds: (await queue.getCompleted()).map((j) => j.id).sort(),
        };
      } finally {
        await worker.close();
        await events.close();
        await queue.close();
        admin.disconnect();
      }
    });
    expect(story.countsAfter).toMatchObject({ completed: 7, failed: 1, waiting: 0, delayed: 0, active: 0 });
    expect(story.heard.retried).toEqual(['waiting', 'active', 'delayed', 'waiting', 'active', 'completed {"doubled":6}']);
    expect(story.stream.exhausted).toEqual(['added', 'waiting', 'active', 'waiting', 'active', 'failed', 'retries-exhausted']);
    expect(story.stream.late).toEqual(['added', 'delayed', 'waiting', 'active', 'completed']);
  });

  it('a repeatable job (a job scheduler): runs every interval up to its limit, then is not scheduled again', async () => {
    const story = await bothTell(async (port) => {
      const connection = connectionTo(port);
      const admin = new Redis(port, '127.0.0.1');
      await admin.flushall();
      const queue = new Queue('ticks', { connection });
      const runs: string[] = [];
      const worker = new Worker('ticks', async (job: Job) => {
        runs.push(`${job.name} ${JSON.stringify(job.data)}`);
        return runs.length;
      }, { connection, concurrency: 1 });
      try {
        await queue.upsertJobScheduler('ticker', { every: 500, limit: 3 }, { name: 'tick', data: { every: 'half second' } });
        await until('three runs', async () => (await queue.getJobCounts('completed')).completed === 3);
        // Past another interval: a fourth run would have been scheduled by now.
        await new Promise((r) => setTimeout(r, 800));
        const counts = await queue.getJobCounts('completed', 'delayed', 'waiting', 'active');
        return { runs, counts, returnvalues: (await queue.getCompleted()).map((j) => j.returnvalue).sort() };
      } finally {
        await worker.close();
        await queue.close();
        admin.disconnect();
      }
    });
    expect(story).toEqual({
      runs: Array(3).fill('tick {"every":"half second"}'),
      counts: { completed: 3, delayed: 0, waiting: 0, active: 0 },
      returnvalues: [1, 2, 3],
    });
  });

  it('a flow: the parent runs once its children are done and sees their results', async () => {
    const story = await bothTell(async (port) => {
      const connection = connectionTo(port);
      const admin = new Redis(port, '127.0.0.1');
      await admin.flushall();
      const flows = new FlowProducer({ connection });
      const events = new QueueEvents('parents', { connection });
      await events.waitUntilReady();
      const order: string[] = [];
      const children = new Worker('children', async (job: Job) => {
        order.push(job.name);
        return job.data.n * 10;
      }, { connection, concurrency: 1 });
      const parents = new Worker('parents', async (job: Job) => {
        order.push(job.name);
        const values = Object.values(await job.getChildrenValues()) as number[];
        return values.sort((a, b) => a - b);
      }, { connection });
      try {
        const tree = await flows.add({
          name: 'total', queueName: 'parents', data: {},
          children: [1, 2, 3].map((n) => ({ name: `part${n}`, queueName: 'children', data: { n } })),
        });
        const parent = tree.job;
        const result = await parent.waitUntilFinished(events, 15_000);
        return { result, lastRun: order[order.length - 1], runs: order.length, state: await parent.getState() };
      } finally {
        await children.close();
        await parents.close();
        await events.close();
        await flows.close();
        admin.disconnect();
      }
    });
    expect(story).toEqual({ result: [10, 20, 30], lastRun: 'total', runs: 4, state: 'completed' });
  });
});
