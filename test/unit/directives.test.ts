// Every config row says what keyfork does with it, and "applied" is derived from the code that
// consumes the value (src/config/consumers.ts), never from a list that could drift.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../src/start';
import { appliedDirectives, CONFIG_TABLE, consume, directiveStatus } from '../../src/config';

const ROOT = path.resolve(__dirname, '../..');

describe('directive statuses', () => {
  it('each row is applied, inert with a reason, or unsupported naming what is missing', () => {
    const problems: string[] = [];
    for (const row of CONFIG_TABLE) {
      const status = directiveStatus(row);
      if (status === 'applied' && (row.missing !== undefined || row.refusedValues !== null)) {
        problems.push(`${row.name} is consumed: remove its "missing" note from the table`);
      }
      if (status === 'inert' && row.inert!.trim() === '') problems.push(`${row.name}: empty inert reason`);
      if (status === 'inert' && row.missing !== undefined) problems.push(`${row.name}: both inert and missing`);
      if (status === 'unsupported' && !row.missing) problems.push(`${row.name}: consumed by nothing, yet says neither why it is inert nor what it needs`);
    }
    expect(problems).toEqual([]);
  });

  it('every applied directive names tests that exist and exercise it', () => {
    const problems: string[] = [];
    for (const [name, proofs] of appliedDirectives()) {
      for (const proof of proofs) {
        const file = path.join(ROOT, proof);
        if (!fs.existsSync(file)) problems.push(`${name}: ${proof} does not exist`);
        else if (!fs.readFileSync(file, 'utf8').includes(name)) problems.push(`${name}: ${proof} never mentions it`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('the durability, safety, security, limit and topology promises keyfork lacks are refused', () => {
    const refused = CONFIG_TABLE.filter((r) => directiveStatus(r) === 'unsupported' && r.refusedValues !== null).map((r) => r.name);
    // The examples; each moves to "applied" (with its test) when its feature lands.
    for (const name of ['appendonly', 'maxmemory', 'replicaof', 'min-replicas-to-write', 'cluster-enabled', 'tls-port', 'aclfile']) {
      if (CONFIG_TABLE.find((r) => r.name === name) && directiveStatus(CONFIG_TABLE.find((r) => r.name === name)!) === 'unsupported') {
        expect(refused).toContain(name);
      }
    }
    // Asking for less is never refused.
    expect(CONFIG_TABLE.find((r) => r.name === 'protected-mode')!.promises('no')).toBe(false);
  });

  it('handles are declared before start-up completes, on canonical names, never on inert rows', () => {
    expect(() => consume('timeout', 'x')).toThrow(/after start-up/);
    expect(() => consume('slaveof', 'x')).toThrow(/canonical/);
    expect(() => consume('jemalloc-bg-thread', 'x')).toThrow(/inert/);
  });

  it('README.md lists the directives by status as the code has them', () => {
    const script = path.join(ROOT, 'scripts/readme-configs.js');
    const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(out).toContain('current');
  });
});
