import { describe, expect, it } from 'vitest';
import { autoAofRewriteTrigger, commandTrigger, replicaSyncTrigger, saveRuleTrigger } from '../../src/persistence/triggers';

describe('trigger words', () => {
  it('name a client command by address, and by name when it has one', () => {
    expect(commandTrigger('BGSAVE', { addr: '127.0.0.1:52114', name: '' })).toBe('BGSAVE from 127.0.0.1:52114');
    expect(commandTrigger('BGSAVE', { addr: '127.0.0.1:52114', name: 'worker-3' })).toBe('BGSAVE from 127.0.0.1:52114 (name worker-3)');
    expect(commandTrigger('CONFIG SET appendonly yes', null)).toBe('CONFIG SET appendonly yes');
  });

  it('say which save rule fired and why, which replica, and how much the AOF grew', () => {
    expect(saveRuleTrigger(300, 10, 12, 301)).toBe('save rule "300 10": 12 changes in 301 seconds');
    expect(replicaSyncTrigger('127.0.0.1:6380')).toBe('full sync for replica 127.0.0.1:6380');
    expect(autoAofRewriteTrigger(1_048_576, 2_138_112, 100)).toBe(
      'auto-aof-rewrite: AOF grew 103% (1048576 -> 2138112 bytes, auto-aof-rewrite-percentage 100)',
    );
    expect(autoAofRewriteTrigger(0, 100, 100)).toBe('auto-aof-rewrite: AOF grew 0% (0 -> 100 bytes, auto-aof-rewrite-percentage 100)');
  });
});
