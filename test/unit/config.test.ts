// The configuration module: redis.conf / argv parsing, CONFIG GET / SET / REWRITE.
// Every expected error text below was read off a real redis-server 7.0.15; the last
// block re-checks many of them against redis-server directly when it is installed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Config,
  ConfigRewriteError,
  ConfigSetError,
  FatalConfigError,
  getAbsolutePath,
  loadConfig,
  LoadConfigOptions,
  parseCommandLine,
  parseConfigText,
  quoteRepr,
  REWRITE_SIGNATURE,
  splitArgs,
  stringMatch,
} from '../../src/config';
import type { Directive } from '../../src/config/consumers';
import { memtoull, string2ll } from '../../src/config/numbers';
import { RawConnection, type Reply } from '../helpers/resp';
import { redisAvailable, redisServerPath, startRedis, type RunningServer } from '../helpers/servers';

/** The parser is tested alone: these handles stand for the ones consume() gives the server's code. */
const handle = (name: string) => ({ name }) as unknown as Directive<any>;

// ---------------------------------------------------------------------------------------------
// helpers

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'keyfork-config-test-'));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

let fileCounter = 0;
function writeConf(content: string, name = `c${++fileCounter}.conf`): string {
  const file = path.join(tmpRoot, name);
  fs.writeFileSync(file, content, 'latin1');
  return file;
}

/** A working directory that `dir` can change without touching the test process. */
function fakeCwd(start: string = tmpRoot): Required<Pick<LoadConfigOptions, 'cwd' | 'chdir'>> {
  let current = start;
  return {
    cwd: () => current,
    chdir: (p: string) => {
      const target = path.resolve(current, p);
      if (!fs.statSync(target).isDirectory()) throw Object.assign(new Error('not a dir'), { code: 'ENOTDIR' });
      current = target;
    },
  };
}

const load = (argv: string[], opts: LoadConfigOptions = {}): Config => loadConfig(argv, { ...fakeCwd(), ...opts });

function fatal(fn: () => unknown): FatalConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FatalConfigError) return err;
    throw err;
  }
  throw new Error('expected a FatalConfigError');
}

const block = (line: number, text: string, reason: string): string =>
  `\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line ${line}\n>>> '${text}'\n${reason}\n`;

function setError(config: Config, pairs: Array<[string, string]>, opts = {}): string {
  try {
    config.configSet(pairs, opts);
  } catch (err) {
    if (err instanceof ConfigSetError) return err.message;
    throw err;
  }
  return 'OK';
}

// ---------------------------------------------------------------------------------------------

describe('splitArgs (sdssplitargs)', () => {
  it.each([
    ['port 6379', ['port', '6379']],
    ['  save   900 1  ', ['save', '900', '1']],
    ['a "b c" d', ['a', 'b c', 'd']],
    ['"\\n\\r\\t\\b\\a\\\\\\"x"', ['\n\r\t\b\x07\\"x']],
    ['"\\x41\\x7a\\xff"', ['Az\xff']],
    ['"\\xZZ"', ['xZZ']], // not a hex escape: backslash drops, the letter stays
    ["'it\\'s' 'a\\nb'", ["it's", 'a\\nb']],
    ['foo"bar baz"', ['foobar baz']],
    ['""', ['']],
    ["''", ['']],
    ['a\tb', ['a', 'b']],
    ['', []],
  ])('%j', (line, expected) => {
    expect(splitArgs(line)).toEqual(expected);
  });

  it.each(['"abc', "'abc", '"a"b', "'a'b", 'x "y'])('refuses unbalanced %j', (line) => {
    expect(splitArgs(line)).toBeNull();
  });

  it('quoteRepr round-trips any bytes through splitArgs', () => {
    const all = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
    expect(quoteRepr('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
    expect(quoteRepr('\x00\x7f\xff')).toBe('"\\x00\\x7f\\xff"');
    expect(splitArgs(quoteRepr(all))).toEqual([all]);
  });
});

describe('stringMatch (CONFIG GET patterns)', () => {
  it.each([
    ['*', 'anything', true],
    ['h?', 'hz', true],
    ['h?', 'hzz', false],
    ['[hp]z', 'hz', true],
    ['[^h]z', 'hz', false],
    ['[^a]z', 'hz', true],
    ['[a-i]z', 'hz', true],
    ['[i-a]z', 'hz', true], // reversed range
    ['[x-z]z', 'hz', false],
    ['HZ*', 'hz', true], // nocase
    ['p\\ort', 'port', true],
    ['p\\*rt', 'port', false],
    ['*max-*-entries*', 'hash-max-listpack-entries', true],
    ['*max-*-entries*', 'maxmemory', false],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXbYY', false],
    ['[abc', 'a', true], // unterminated class
  ])('%j ~ %j = %s', (pattern, subject, expected) => {
    expect(stringMatch(pattern, subject, true)).toBe(expected);
  });
});

describe('numbers', () => {
  it('memtoull: units, quirks', () => {
    expect(memtoull('1gb')).toBe(1073741824n);
    expect(memtoull('1G')).toBe(1000000000n);
    expect(memtoull('1kB')).toBe(1024n);
    expect(memtoull('5B')).toBe(5n);
    expect(memtoull('05')).toBe(5n);
    expect(memtoull('')).toBe(0n);
    expect(memtoull('kb')).toBe(0n);
    expect(memtoull('99999999999999999999')).toBe(2n ** 64n - 1n);
    expect(memtoull('18446744073709551615kb')).toBe(18446744073709550592n);
    for (const bad of ['1.5gb', ' 5', '5 ', '+5', '-1', '1tb']) expect(memtoull(bad)).toBeNull();
  });

  it('string2ll is strict', () => {
    expect(string2ll('-9223372036854775808')).toBe(-(2n ** 63n));
    for (const bad of ['007', '-0', '+1', '0x10', '', ' 1', '9223372036854775808', '1k']) {
      expect(string2ll(bad)).toBeNull();
    }
  });
});

describe('defaults and typed getters', () => {
  const config = Config.defaults(fakeCwd());

  it('prints Redis 7.0 defaults', () => {
    expect(config.get('save')).toBe('3600 1 300 100 60 10000');
    expect(config.get('bind')).toBe('* -::*');
    expect(config.get('port')).toBe('6379');
    expect(config.get('dir')).toBe(tmpRoot);
    expect(config.get('client-output-buffer-limit')).toBe(
      'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60',
    );
    expect(config.get('proto-max-bulk-len')).toBe('536870912');
    expect(config.get('hash-max-ziplist-entries')).toBe('512');
    expect(config.get('latency-tracking-info-percentiles')).toBe('50 99 99.9');
    expect(config.get('requirepass')).toBe('');
    expect(config.get('enable-protected-configs')).toBe('no');
  });

  it('typed getters', () => {
    expect(config.int(handle('hz'))).toBe(10);
    expect(config.bool(handle('appendonly'))).toBe(false);
    expect(config.str(handle('maxmemory-policy'))).toBe('noeviction');
    expect(config.optionalStr(handle('requirepass'))).toBeNull();
    expect(config.saveRules(handle('save'))).toEqual([
      { seconds: 3600, changes: 1 },
      { seconds: 300, changes: 100 },
      { seconds: 60, changes: 10000 },
    ]);
    expect(config.bindAddresses(handle('bind'))).toEqual(['*', '-::*']);
    expect(() => config.int(handle('appendonly'))).toThrow(TypeError);
    expect(() => config.get('nope')).toThrow();
  });

  it('every row has a parseable default', () => {
    const rows = config.rows();
    expect(rows.length).toBe(178); // 192 names in CONFIG GET * less 19 aliases, plus 5 hidden
    for (const r of rows) if (r.name !== 'dir') expect(config.isDefault(r.name)).toBe(true);
  });
});

describe('parseConfigText', () => {
  it('skips comments and blanks, lower-cases names, keeps line numbers', () => {
    const parsed = parseConfigText('# c\n\n  PORT 1\n\t\nsave "" \r\nhz "x\n', 'f');
    expect(parsed).toEqual([
      { line: 3, text: 'PORT 1', args: ['port', '1'], source: 'f' },
      { line: 5, text: 'save ""', args: ['save', ''], source: 'f' },
      { line: 6, text: 'hz "x', args: null, source: 'f' },
    ]);
  });
});

describe('loading: files, includes, argv', () => {
  it('file then options, later settings win, multi-arg forms', () => {
    const file = writeConf('port 1234\nsave 900 1\nsave 300 10\nmaxmemory 1mb\n');
    const config = load([file, '--port', '7000', '--hz', '20', '--bind', '127.0.0.1 ::1']);
    expect(config.configFile).toBe(file);
    expect(config.get('port')).toBe('7000');
    expect(config.get('hz')).toBe('20');
    expect(config.get('save')).toBe('900 1 300 10');
    expect(config.get('maxmemory')).toBe('1048576');
    expect(config.get('bind')).toBe('127.0.0.1 ::1');
  });

  it('save lines accumulate; save "" resets; --save appends; --save alone disables', () => {
    const file = writeConf('save 900 1\nsave ""\nsave 5 5\n');
    expect(load([file]).get('save')).toBe('5 5');
    expect(load([file, '--save', '7', '7']).get('save')).toBe('5 5 7 7');
    expect(load(['--save', '900 1 300 10', '--save', '60', '5']).get('save')).toBe('900 1 300 10 60 5');
    expect(load(['--save']).get('save')).toBe('');
    expect(load(['--save', '--port', '1']).get('save')).toBe('');
    expect(load(['--save', '']).get('save')).toBe('');
    expect(load([]).get('save')).toBe('3600 1 300 100 60 10000');
  });

  it('an include ends save accumulation for the rest of the outer file (as in Redis 7.0)', () => {
    const inc = writeConf('hz 15\n');
    const file = writeConf(`save 900 1\ninclude ${inc}\nsave 300 10\nsave 60 100\n`);
    const config = load([file]);
    expect(config.get('save')).toBe('60 100');
    expect(config.get('hz')).toBe('15');
  });

  it('include relative to the working directory, nested, and globbed', () => {
    const sub = path.join(tmpRoot, 'confd');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'a.conf'), 'hz 11\n');
    fs.writeFileSync(path.join(sub, 'b.conf'), 'hz 12\ninclude confd/c.inc\n');
    fs.writeFileSync(path.join(sub, 'c.inc'), 'maxmemory 2mb\n');
    const prevCwd = process.cwd();
    process.chdir(tmpRoot);
    try {
      const file = writeConf('include confd/*.conf\ninclude confd/none*.conf\n');
      const config = loadConfig([file]);
      expect(config.get('hz')).toBe('12');
      expect(config.get('maxmemory')).toBe('2097152');
    } finally {
      process.chdir(prevCwd);
    }
  });

  it('stdin is read after the file and before the options', () => {
    const file = writeConf('hz 5\n');
    const config = load([file, '-'], { readStdin: () => 'hz 6\nport 1\n' });
    expect(config.get('hz')).toBe('6');
    expect(load(['-', '--hz', '7'], { readStdin: () => 'hz 6\n' }).get('hz')).toBe('7');
  });

  it('hz is clamped, directive names and enum values are case-insensitive', () => {
    const config = load(['--HZ', '1000', '--loglevel', 'WARNING']);
    expect(config.get('hz')).toBe('500');
    expect(config.get('loglevel')).toBe('warning');
    expect(load(['--hz', '0']).get('hz')).toBe('1');
  });

  it('records non-config directives', () => {
    const file = writeConf('rename-command FLUSHALL ""\nuser bob on\nloadmodule /m.so a b\nfoo.bar 1\nsentinel\nlist-max-ziplist-entries 5\n');
    const config = load([file]);
    expect(config.extra.renameCommands).toEqual([{ from: 'FLUSHALL', to: '' }]);
    expect(config.extra.users).toEqual([['bob', 'on']]);
    expect(config.extra.loadModules).toEqual([{ path: '/m.so', args: ['a', 'b'] }]);
    expect(config.extra.moduleConfigs.get('foo.bar')).toBe('1');
  });

  it('dir changes the working directory while loading', () => {
    const sub = path.join(tmpRoot, 'data');
    fs.mkdirSync(sub, { recursive: true });
    const config = load(['--dir', 'data']);
    expect(config.get('dir')).toBe(sub);
  });

  it('command line to config text as redis-server builds it', () => {
    expect(parseCommandLine(['a.conf', '--port', '1', '--save', '--hz', '5'], '/w')).toEqual({
      configFile: '/w/a.conf',
      stdin: false,
      options: 'port "1" \nsave ""\nhz "5" ',
    });
    expect(parseCommandLine(['--requirepass', '--x y', '-'], '/w').options).toBe('requirepass "--x y" ');
    expect(parseCommandLine(['-', '--port 6380'], '/w')).toEqual({ configFile: null, stdin: true, options: 'port 6380 ' });
    expect(getAbsolutePath('../../x.conf', '/a/b/c')).toBe('/a/x.conf');
    expect(getAbsolutePath(' /abs.conf ', '/a')).toBe('/abs.conf');
  });
});

describe('fatal config errors (texts verified against redis-server 7.0.15)', () => {
  it.each<[string, () => string[], string]>([
    ['bad directive in the file', () => [writeConf('port 1234\nfoo bar\n'), '--foo', 'bar'], block(2, 'foo bar', 'Bad directive or wrong number of arguments')],
    ['bad option after a file', () => [writeConf('port 1234\n'), '--foo', 'bar'], block(3, 'foo "bar"', 'Bad directive or wrong number of arguments')],
    ['--port abc', () => ['--port', 'abc'], block(2, 'port "abc"', "argument couldn't be parsed into an integer")],
    ['bool', () => ['--port', '1', '--daemonize', 'maybe'], block(3, 'daemonize "maybe"', "argument must be 'yes' or 'no'")],
    ['--port --hz 5', () => ['--port', '--hz', '5'], block(2, 'port "--hz" "5"', 'wrong number of arguments')],
    ['value that starts with --', () => ['--hz', '5', '--requirepass', '--foo', '--port', 'x'], block(4, 'port "x"', "argument couldn't be parsed into an integer")],
    ['name and value in one argument', () => ['--port 70000'], block(2, 'port 70000', 'argument must be between 0 and 65535 inclusive')],
    ['--save before an option', () => ['--save', '--port', 'x'], block(3, 'port "x"', "argument couldn't be parsed into an integer")],
    ['enum', () => ['--port', '1', '--save', '--loglevel', 'x'], block(4, 'loglevel "x"', 'argument(s) must be one of the following: debug, verbose, notice, warning')],
    ['stray argument', () => [writeConf('port 1234\n'), 'extra'], block(3, '"extra"', 'Bad directive or wrong number of arguments')],
    ['databases 0', () => ['--databases', '0'], block(2, 'databases "0"', 'argument must be between 1 and 2147483647 inclusive')],
    ['save odd', () => ['--save', '10'], block(2, 'save "10"', 'Invalid save parameters')],
    ['save words', () => ['--save', 'a b'], block(2, 'save "a b"', 'Invalid save parameters')],
    ['unsigned bounds', () => ['--socket-mark-id', '-1'], block(2, 'socket-mark-id "-1"', 'argument must be between 0 and 4294967295 inclusive')],
    ['module config without value', () => ['--port', '0', '--foo.bar'], block(3, 'foo.bar', 'Module config specified without value')],
    ['proc-title-template', () => ['--proc-title-template', '{foo}'], block(2, 'proc-title-template "{foo}"', 'template format is invalid or contains unknown variables')],
    ['hostname', () => ['--cluster-announce-hostname', 'a_b'], block(2, 'cluster-announce-hostname "a_b"', 'Hostnames may only contain alphanumeric characters, hyphens or dots')],
    ['unbalanced quotes', () => [writeConf('port "1\n')], block(1, 'port "1', 'Unbalanced quotes in configuration line')],
    ['text after a closing quote', () => [writeConf('port "1"x\n')], block(1, 'port "1"x', 'Unbalanced quotes in configuration line')],
    ['too many arguments', () => [writeConf('port 1 2\n')], block(1, 'port 1 2', 'wrong number of arguments')],
    ['include without a file', () => [writeConf('include\n')], block(1, 'include', 'Bad directive or wrong number of arguments')],
    ['comments and blanks count', () => [writeConf('  # comment\n\t\n"port" "1x"\n')], block(3, '"port" "1x"', "argument couldn't be parsed into an integer")],
    ['CRLF line endings', () => [writeConf('port 1\r\nhz x\r\n')], block(2, 'hz x', "argument couldn't be parsed into an integer")],
    ['sentinel', () => ['--sentinel', 'x'], block(2, 'sentinel "x"', 'sentinel directive while not in sentinel mode')],
    ['oom values', () => ['--oom-score-adj-values', '0 200 3000'], block(2, 'oom-score-adj-values "0 200 3000"', 'Invalid oom-score-adj-values, elements must be between -2000 and 2000.')],
    ['dir that does not exist', () => ['--dir', '/nonexistent-keyfork'], block(2, 'dir "/nonexistent-keyfork"', 'No such file or directory')],
  ])('%s', (_label, argv, report) => {
    const err = fatal(() => load(argv()));
    expect(err.kind).toBe('report');
    expect(err.report).toBe(report);
  });

  it('an error inside an include reports the included file line', () => {
    const bad = writeConf('port 1\nfoo\n');
    const file = writeConf(`hz 5\ninclude ${bad}\n`);
    expect(fatal(() => load([file])).report).toBe(block(2, 'foo', 'Bad directive or wrong number of arguments'));
  });

  it('stdin lines are numbered after the file', () => {
    const file = writeConf('port 1234\n');
    const err = fatal(() => load([file, '-'], { readStdin: () => 'hz x\n' }));
    expect(err.report).toBe(block(2, 'hz x', "argument couldn't be parsed into an integer"));
    const err2 = fatal(() => load(['-', '--port', 'x'], { readStdin: () => 'hz 7\n' }));
    expect(err2.report).toBe(block(3, 'port "x"', "argument couldn't be parsed into an integer"));
  });

  it('a missing config file is logged, not reported', () => {
    const missing = path.join(tmpRoot, 'nonexist.conf');
    const err = fatal(() => load([missing]));
    expect(err.kind).toBe('log');
    expect(err.report).toBe(`Fatal error, can't open config file '${missing}': No such file or directory`);
    const inc = writeConf(`include ${path.join(tmpRoot, 'none.conf')}\n`);
    expect(fatal(() => load([inc])).report).toBe(
      `Fatal error, can't open config file '${path.join(tmpRoot, 'none.conf')}': No such file or directory`,
    );
  });

  it('whole-file checks have no line', () => {
    const err = fatal(() => load([writeConf('logfile /nonexistent-keyfork/x.log\n')]));
    expect(err.report).toBe(
      "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nCan't open the log file: No such file or directory\n",
    );
    const cluster = fatal(() => load(['--cluster-enabled', 'yes', '--replicaof', '127.0.0.1', '6379']));
    expect(cluster.report).toContain('replicaof directive not allowed in cluster mode');
  });

  it('rename-command errors come from the command table hook', () => {
    const err = fatal(() =>
      load(['--rename-command', 'nosuch', 'x'], {
        renameCommand: (from) => (from === 'nosuch' ? 'No such command in rename-command' : null),
      }),
    );
    expect(err.report).toBe(block(2, 'rename-command "nosuch" "x"', 'No such command in rename-command'));
  });
});

describe('CONFIG GET', () => {
  const config = Config.defaults(fakeCwd());
  const names = (patterns: string[]): string[] => config.configGet(patterns).map(([n]) => n);

  it('exact names are case-insensitive and reported as typed; hidden ones only by name', () => {
    expect(config.configGet(['PORT'])).toEqual([['PORT', '6379']]);
    expect(config.configGet(['hash-max-ziplist-entries'])).toEqual([['hash-max-ziplist-entries', '512']]);
    expect(config.configGet(['rdb-key-save-delay'])).toEqual([['rdb-key-save-delay', '0']]);
    expect(names(['rdb*']).sort()).toEqual(['rdb-del-sync-files', 'rdb-save-incremental-fsync', 'rdbchecksum', 'rdbcompression']);
    expect(config.configGet(['p\\ort'])).toEqual([]); // a backslash alone is not a pattern
    expect(config.configGet(['nosuch'])).toEqual([]);
  });

  it('patterns match names and aliases separately, each reported once', () => {
    expect(names(['*max-*-entries*']).sort()).toEqual([
      'hash-max-listpack-entries',
      'hash-max-ziplist-entries',
      'set-max-intset-entries',
      'zset-max-listpack-entries',
      'zset-max-ziplist-entries',
    ]);
    expect(names(['port', 'port'])).toEqual(['port']);
    expect(names(['PORT', '*'])).toHaveLength(192);
    expect(names(['PORT', '*']).filter((n) => n.toLowerCase() === 'port')).toEqual(['PORT']);
    expect(names(['HZ*', '[hp]z', 'h?'])).toEqual(['hz']);
    expect(names(['p\\or*'])).toEqual(['port']);
    expect(names(['*port']).sort()).toEqual([
      'cluster-announce-bus-port', 'cluster-announce-port', 'cluster-announce-tls-port', 'cluster-port',
      'port', 'replica-announce-port', 'slave-announce-port', 'tls-port',
    ]);
  });
});

describe('CONFIG SET', () => {
  it('error texts', () => {
    const config = Config.defaults(fakeCwd());
    const cases: Array<[Array<[string, string]>, string]> = [
      [[['foo', 'bar']], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"],
      [[['PORT', 'abc']], "ERR CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer"],
      [[['daemonize', 'yes']], "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"],
      [[['dir', '/tmp']], "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"],
      [[['dbfilename', 'a/b']], "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"],
      [[['maxmemory', '1'], ['maxmemory', '2']], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"],
      [[['hz', '5'], ['HZ', '6']], "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"],
      [[['port', 'abc'], ['foo', 'bar']], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"],
      [[['daemonize', 'yes'], ['foo', 'bar']], "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"],
      [[['port', 'abc'], ['daemonize', 'yes']], "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"],
      [[['hash-max-ziplist-entries', 'abc']], "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer"],
      [[['hash-max-ziplist-value', 'abc']], "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-value') - argument must be a memory value"],
      [[['hz', '-1']], "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive"],
      [[['maxmemory', '1.5gb']], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"],
      [[['maxmemory-clients', '101%']], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100"],
      [[['maxmemory-clients', '-5%']], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - argument must be a memory or percent value"],
      [[['client-query-buffer-limit', '1k']], "ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive"],
      [[['appendonly', 'maybe']], "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"],
      [[['appendfsync', 'x']], "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"],
      [[['save', '100 10 x']], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"],
      [[['save', '0 1']], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"],
      [[['save', ' 100  10 ']], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"],
      [[['client-output-buffer-limit', 'master 1 2 3']], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."],
      [[['client-output-buffer-limit', 'normal 1 2']], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."],
      [[['client-output-buffer-limit', 'normal 1 2 -1']], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."],
      [[['oom-score-adj-values', '1 2']], "ERR CONFIG SET failed (possibly related to argument 'oom-score-adj-values') - wrong number of arguments"],
      [[['notify-keyspace-events', 'KEAq']], "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."],
      [[['latency-tracking-info-percentiles', '50 101']], "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"],
      [[['latency-tracking-info-percentiles', 'x']], "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters"],
      [[['shutdown-on-sigint', 'save nosave']], "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigint') - shutdown options SAVE and NOSAVE can't be used simultaneously"],
      [[['unixsocketperm', '777']], "ERR CONFIG SET failed (possibly related to argument 'unixsocketperm') - can't set immutable config"],
    ];
    for (const [pairs, expected] of cases) expect(setError(config, pairs), JSON.stringify(pairs)).toBe(expected);
    expect(config.isDefault('save')).toBe(true);
    expect(setError(config, [['appendonly', 'yes']], { loading: true })).toBe('LOADING Redis is loading the dataset in memory');
  });

  it('values are stored and printed as Redis prints them', () => {
    const config = Config.defaults(fakeCwd());
    const check = (name: string, value: string, printed: string) => {
      expect(setError(config, [[name, value]])).toBe('OK');
      expect(config.get(name)).toBe(printed);
    };
    check('maxmemory', '1gb', '1073741824');
    check('maxmemory', '1G', '1000000000');
    check('maxmemory', '', '0');
    check('maxmemory', '18446744073709551615kb', '18446744073709550592');
    check('maxmemory-clients', '10%', '10%');
    check('maxmemory-clients', '0%', '0');
    check('maxmemory-clients', '18446744073709551615', '1%');
    check('hz', '1000', '500');
    check('hz', '0', '1');
    check('save', '100 10 200 20', '100 10 200 20');
    check('save', '100 ', '100 0');
    check('save', '', '');
    check('notify-keyspace-events', 'KEA', 'AKE');
    check('notify-keyspace-events', 'Ex', 'xE');
    check('notify-keyspace-events', 'g$lshzxetmdn', 'Am');
    check('notify-keyspace-events', 'nmdtEKgx', 'gxtdnKEm');
    check('client-output-buffer-limit', 'normal 1mb 2mb 3', 'normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60');
    check('client-output-buffer-limit', 'replica 1k 2 3 PUBSUB 5 6 7', 'normal 1048576 2097152 3 slave 1000 2 3 pubsub 5 6 7');
    check('oom-score-adj-values', '10 20 30', '10 20 30');
    check('oom-score-adj', 'relative', 'yes');
    check('latency-tracking-info-percentiles', '1.25e1 0.001', '12.5 0.001');
    check('latency-tracking-info-percentiles', '', '');
    check('shutdown-on-sigint', 'nosave force now', 'nosave now force');
    check('shutdown-on-sigint', 'default now', 'now');
    check('maxmemory-policy', 'ALLKEYS-LRU', 'allkeys-lru');
    check('slowlog-log-slower-than', '-1', '-1');
    check('bind', '127.0.0.1 ::1', '127.0.0.1 ::1');
    check('requirepass', 'a b"c', 'a b"c');
    expect(config.bigint(handle('maxmemory'))).toBe(18446744073709550592n);
    expect(config.int(handle('hz'))).toBe(1);
  });

  it('an alias and its primary in one CONFIG SET are not duplicates; the last wins', () => {
    const config = Config.defaults(fakeCwd());
    expect(setError(config, [['list-max-ziplist-size', '5'], ['list-max-listpack-size', '6']])).toBe('OK');
    expect(config.configGet(['list-max-*'])).toEqual([['list-max-listpack-size', '6'], ['list-max-ziplist-size', '6']]);
  });

  it('is all or nothing', () => {
    const config = Config.defaults(fakeCwd());
    expect(setError(config, [['hz', '5'], ['save', '1 1'], ['port', 'abc']])).toContain("argument 'port'");
    expect(config.get('hz')).toBe('10');
    expect(config.get('save')).toBe('3600 1 300 100 60 10000');
  });

  it('protected configs need enable-protected-configs; dir changes the working directory', () => {
    const cwd = fakeCwd();
    const local = load(['--enable-protected-configs', 'local'], cwd);
    expect(setError(local, [['dir', tmpRoot]])).toContain("can't set protected config");
    expect(setError(local, [['dir', tmpRoot]], { isLocalClient: true })).toBe('OK');

    const config = load(['--enable-protected-configs', 'yes'], cwd);
    fs.mkdirSync(path.join(tmpRoot, 'd2'), { recursive: true });
    expect(setError(config, [['dir', 'd2']])).toBe('OK');
    expect(config.get('dir')).toBe(path.join(tmpRoot, 'd2'));
    expect(setError(config, [['dir', '/nonexistent-keyfork']])).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory",
    );
    expect(setError(config, [['dbfilename', 'a/b']])).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename",
    );
    // A later failure puts the working directory back.
    expect(setError(config, [['dir', tmpRoot], ['hz', 'x']])).toContain("argument 'hz'");
    expect(config.get('dir')).toBe(path.join(tmpRoot, 'd2'));
  });

  it('apply hooks run once per change, can veto, and a veto rolls everything back', () => {
    const config = Config.defaults(fakeCwd());
    const applied: string[] = [];
    const changes: string[] = [];
    config.onApply(handle('port'), (next, prev) => {
      applied.push(`port ${prev}->${next}`);
      if (next === '1') throw new Error('Unable to listen on this port. Check server logs.');
    });
    config.onApply(handle('hz'), (next, prev) => applied.push(`hz ${prev}->${next}`));
    config.onChange(handle('hz'), (next, prev) => changes.push(`hz ${prev}->${next}`));
    config.onChange(handle('port'), (next, prev) => changes.push(`port ${prev}->${next}`));

    expect(setError(config, [['hz', '20'], ['port', '7000']])).toBe('OK');
    expect(applied).toEqual(['hz 10->20', 'port 6379->7000']);
    expect(changes).toEqual(['hz 10->20', 'port 6379->7000']);

    applied.length = 0;
    changes.length = 0;
    expect(setError(config, [['hz', '30'], ['port', '1']])).toBe(
      "ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.",
    );
    expect(config.get('hz')).toBe('20');
    expect(config.get('port')).toBe('7000');
    // Both hooks ran forward, then again to put the old values back.
    expect(applied).toEqual(['hz 20->30', 'port 7000->1', 'hz 30->20', 'port 1->7000']);
    expect(changes).toEqual([]);

    // No change, no hook.
    applied.length = 0;
    expect(setError(config, [['hz', '20']])).toBe('OK');
    expect(applied).toEqual([]);
  });

  it('one hook shared by several configs runs once', () => {
    const config = Config.defaults(fakeCwd());
    let runs = 0;
    const rebind = () => void runs++;
    config.onApply(handle('port'), rebind);
    config.onApply(handle('bind'), rebind);
    expect(setError(config, [['port', '7001'], ['bind', '127.0.0.1']])).toBe('OK');
    expect(runs).toBe(1);
  });
});

describe('CONFIG REWRITE', () => {
  it('without a config file', () => {
    const config = Config.defaults(fakeCwd());
    expect(() => config.rewrite()).toThrow(ConfigRewriteError);
    expect(() => config.rewrite()).toThrow('ERR The server is running without a config file');
  });

  it('updates lines in place, blanks leftovers, appends the rest (as redis-server 7.0.15 did)', () => {
    const dataDir = path.join(tmpRoot, 'rw');
    fs.mkdirSync(dataDir, { recursive: true });
    const file = writeConf(
      '# top comment\nport 1111\nHz 20\nsave 900 1\nsave 300 10\n\n# a blank cluster above\nmaxmemory 1mb\nbind 127.0.0.1\n' +
        `dir ${dataDir}\n`,
    );
    const config = load([file, '--enable-protected-configs', 'yes', '--unixsocketperm', '755', '--slaveof', '127.0.0.1', '1']);
    config.configSet([['hz', '10'], ['maxmemory', '2mb'], ['save', '60 5'], ['loglevel', 'warning'], ['requirepass', 'a b"c'],
      ['bind', '127.0.0.1 ::1'], ['dbfilename', 'x.rdb']]);
    config.rewrite();
    expect(fs.readFileSync(file, 'latin1')).toBe(
      [
        '# top comment',
        'port 1111',
        'hz 10',
        'save 60 5',
        '',
        '# a blank cluster above',
        'maxmemory 2mb',
        'bind 127.0.0.1 ::1',
        `dir "${dataDir}"`,
        '',
        REWRITE_SIGNATURE,
        'dbfilename "x.rdb"',
        'requirepass "a b\\"c"',
        'loglevel warning',
        'enable-protected-configs yes',
        'unixsocketperm 755',
        'replicaof 127.0.0.1 1',
        'latency-tracking-info-percentiles 50 99 99.9',
        '',
      ].join('\n'),
    );
    // The rewritten file loads back to the same values.
    const again = load([file]);
    for (const name of ['port', 'hz', 'save', 'maxmemory', 'bind', 'requirepass', 'dbfilename', 'loglevel', 'replicaof', 'unixsocketperm']) {
      expect(again.get(name), name).toBe(config.get(name));
    }
  });

  it('aliases are renamed in place, unknown directives kept, default bind removed', () => {
    const inc = writeConf('hz 15\n');
    const file = writeConf(
      `include ${inc}\nrename-command FLUSHALL ""\nhash-max-ziplist-entries 100\nslave-priority 50\nzset-max-ziplist-value 64\n` +
        '   maxmemory   5mb   \nsave ""\nnotify-keyspace-events "KEA"\nbind 127.0.0.1\nport "1\n',
    );
    fs.writeFileSync(file, fs.readFileSync(file, 'latin1').replace('port "1\n', ''));
    const config = load([file]);
    config.configSet([['hash-max-listpack-entries', '200'], ['slave-priority', '60'], ['bind', '* -::*']]);
    fs.appendFileSync(file, 'port "1\n'); // unparsable lines become comments
    config.rewrite();
    expect(fs.readFileSync(file, 'latin1')).toBe(
      [
        `include ${inc}`,
        'rename-command FLUSHALL ""',
        'hash-max-listpack-entries 200',
        'replica-priority 60',
        'zset-max-listpack-value 64',
        'maxmemory 5mb',
        'save ""',
        'notify-keyspace-events "AKE"',
        '',
        '# ??? port "1',
        '',
        REWRITE_SIGNATURE,
        'hz 15',
        `dir "${tmpRoot}"`,
        'latency-tracking-info-percentiles 50 99 99.9',
        '',
      ].join('\n'),
    );
  });

  it('a missing file is created; output buffer limits use the replica name and units', () => {
    const file = path.join(tmpRoot, 'fresh.conf');
    const config = Config.defaults(fakeCwd());
    config.configSet([['client-output-buffer-limit', 'pubsub 64mb 16mb 30'], ['maxmemory-clients', '5%']]);
    config.rewrite(file);
    const content = fs.readFileSync(file, 'latin1');
    expect(content.startsWith(`${REWRITE_SIGNATURE}\n`)).toBe(true);
    expect(content).toContain('client-output-buffer-limit pubsub 64mb 16mb 30\n');
    expect(content).not.toContain('client-output-buffer-limit normal');
    expect(content).toContain('maxmemory-clients 5%\n');
    expect(content).toContain('save 3600 1\nsave 300 100\nsave 60 10000\n');
    expect(fs.readdirSync(tmpRoot).filter((f) => f.startsWith('fresh.conf.'))).toEqual([]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o644 & ~process.umask());
  });

  it('reports write failures with strerror', () => {
    const config = Config.defaults(fakeCwd());
    expect(() => config.rewrite(tmpRoot)).toThrow('ERR Rewriting config file: Is a directory');
    expect(() => config.rewrite('/nonexistent-keyfork/x.conf')).toThrow('ERR Rewriting config file: No such file or directory');
  });
});

// ---------------------------------------------------------------------------------------------
// Differential checks against the real redis-server, when it is installed.

const bulkText = (r: Reply): string => (r.t === 'bulk' && r.v ? r.v.toString('latin1') : '');

describe.skipIf(!redisAvailable())('against redis-server 7.0.15', () => {
  let server: RunningServer;
  let conn: RawConnection;
  const extraArgs = ['--enable-protected-configs', 'yes'];

  beforeAll(async () => {
    server = await startRedis({ args: extraArgs });
    conn = await RawConnection.connect(server.port);
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
  });

  /** Our Config, built from the same command line the helper gave redis-server. */
  const ours = (): Config =>
    load(['--port', String(server.port), '--dir', server.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--enable-debug-command', 'yes', ...extraArgs]);

  async function redisGetAll(): Promise<Map<string, string>> {
    const reply = await conn.send('CONFIG', 'GET', '*');
    if (reply.t !== 'array' || !reply.v) throw new Error('unexpected CONFIG GET reply');
    const map = new Map<string, string>();
    for (let i = 0; i < reply.v.length; i += 2) map.set(bulkText(reply.v[i]), bulkText(reply.v[i + 1]));
    return map;
  }

  it('CONFIG GET * matches, name for name and value for value', async () => {
    const theirs = await redisGetAll();
    const mine = new Map(ours().configGet(['*']));
    expect([...mine.keys()].sort()).toEqual([...theirs.keys()].sort());
    for (const [name, value] of theirs) expect(mine.get(name), name).toBe(value);
  });

  it('CONFIG SET replies and the values read back match', async () => {
    const config = ours();
    const cases: string[][] = [
      ['maxmemory', '1gb'], ['maxmemory', '99999999999999999999'], ['maxmemory', 'kb'], ['maxmemory', '-1'],
      ['maxmemory-clients', '18446744073709551615'], ['maxmemory-clients', '7%'], ['maxmemory-clients', '0'],
      ['proto-max-bulk-len', '18446744073709551615'], ['hz', '007'], ['hz', '+1'], ['hz', '9999'], ['hz', '10'],
      ['save', '100 '], ['save', '5 5 6 6'], ['save', ''], ['save', '100'],
      ['notify-keyspace-events', 'KEA'], ['notify-keyspace-events', 'nmdtEKgx'], ['notify-keyspace-events', ''],
      ['client-output-buffer-limit', 'NORMAL 1kb 2 3 slave 4 5 6'], ['client-output-buffer-limit', ''],
      ['client-output-buffer-limit', 'normal 1 2 3x'],
      ['oom-score-adj-values', '0 x 1'], ['oom-score-adj-values', '1 2 3'], ['oom-score-adj-values', '0 200 800'],
      ['latency-tracking-info-percentiles', '0x10 1e1'], ['latency-tracking-info-percentiles', '50 99 99.9'],
      ['shutdown-on-sigterm', 'force now'], ['shutdown-on-sigterm', 'default'], ['shutdown-on-sigterm', 'x'],
      ['oom-score-adj', 'absolute'], ['oom-score-adj', 'no'], ['loglevel', 'VERBOSE'], ['loglevel', 'notice'],
      ['list-max-ziplist-size', '-5'], ['hash-max-ziplist-value', '1k'], ['set-max-intset-entries', '-1'],
      ['active-expire-effort', '11'], ['maxclients', '0'], ['timeout', '1.5'], ['slowlog-max-len', '-1'],
      ['dbfilename', 'x/y'], ['dbfilename', 'dump.rdb'], ['dir', '/nonexistent-keyfork'],
      ['cluster-announce-hostname', 'a_b'], ['cluster-announce-hostname', ''],
      ['proc-title-template', '{title}'], ['proc-title-template', '{title} {port}'],
      ['proc-title-template', '{title} {listen-addr} {server-mode}'],
      ['replica-announce-ip', ''], ['requirepass', ''], ['appendfsync', 'Always'], ['appendfsync', 'everysec'],
      ['port', 'abc'], ['daemonize', 'no'], ['nosuch', 'x'], ['maxmemory', '1', 'maxmemory', '2'],
      ['hz', '5', 'HZ', '6'], ['hz', '5', 'port', 'x'], ['rdb-key-save-delay', '-3'], ['rdb-key-save-delay', '0'],
      ['maxmemory', '0'], ['save', ''],
    ];
    for (const args of cases) {
      const reply = await conn.send('CONFIG', 'SET', ...args);
      const theirs = reply.t === 'error' ? reply.v : reply.t === 'simple' ? reply.v : JSON.stringify(reply);
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < args.length; i += 2) pairs.push([args[i], args[i + 1]]);
      expect(setError(config, pairs), args.join(' ')).toBe(theirs);
      for (const [name] of pairs) {
        const got = await conn.send('CONFIG', 'GET', name);
        const value = got.t === 'array' && got.v && got.v.length === 2 ? bulkText(got.v[1]) : undefined;
        if (value !== undefined) expect(config.get(name), `${args.join(' ')} -> ${name}`).toBe(value);
      }
    }
  });

  it('startup errors print the same report', () => {
    const binary = redisServerPath()!;
    const conf = writeConf('port 1234\n');
    const cases: Array<{ argv: string[]; stdin?: string }> = [
      { argv: [writeConf('port 1234\nfoo bar\n'), '--foo', 'bar'] },
      { argv: [conf, '--foo', 'bar'] },
      { argv: ['--port', 'abc'] },
      { argv: ['--port', '--hz', '5'] },
      { argv: ['--hz', '5', '--requirepass', '--foo', '--port', 'x'] },
      { argv: ['--port 70000'] },
      { argv: ['--save', '--port', 'x'] },
      { argv: [conf, 'extra'] },
      { argv: ['--maxmemory-policy', 'lru'] },
      { argv: ['--save', '1 2 3'] },
      { argv: ['--bind', 'a b c d e f g h i j k l m n o p q'] },
      { argv: ['--unixsocketperm', '8'] },
      { argv: ['--unixsocketperm', '1000'] },
      { argv: ['--client-output-buffer-limit', 'normal 1 2'] },
      { argv: ['--replicaof', 'host', '70000'] },
      { argv: ['--replicaof', 'host'] },
      { argv: ['--notify-keyspace-events', 'a', 'b'] },
      { argv: [writeConf('save 1 1\n\n"hz" \'x\'\n')] },
      { argv: [writeConf('hz "\\x31\\x32x"\n')] },
      { argv: [writeConf("appendfilename ''\n")] },
      { argv: [writeConf('appenddirname a/b\n')] },
      { argv: [conf, '-'], stdin: 'hz x\n' },
    ];
    for (const { argv, stdin } of cases) {
      const run = spawnSync(binary, argv, { input: stdin ?? '', timeout: 5000, encoding: 'latin1' });
      expect(run.status, `${argv.join(' ')} should fail`).toBe(1);
      const err = fatal(() => load(argv, stdin !== undefined ? { readStdin: () => stdin } : {}));
      expect(run.stderr, argv.join(' ')).toBe(err.report);
    }
  });
});
