// Micro-benchmarks of the protocol's hot paths in TypeScript, with benchmark.js (statistically
// sound sampling, margins of error): the request parser on pipelined multibulk and inline
// input, and the reply encoder on the shapes commands answer most. Run with `npm run bench:micro`
// (tsx runs this file straight from source). Figures are operations per second on this machine;
// compare runs of the same machine, ideally with /proc/loadavg below 1.
import Benchmark from 'benchmark';
import { Parse, RequestParser } from '../src/protocol/parse';
import { ReplyWriter } from '../src/protocol/reply';

function multibulk(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** 16 pipelined commands, as redis-benchmark -P 16 sends them. */
const PIPELINE = Buffer.from(Array.from({ length: 16 }, (_, i) => multibulk('SET', `key:${i}`, 'x'.repeat(100))).join(''));
const INLINE = Buffer.from('SET key:1 value\r\nGET key:1\r\nPING\r\n'.repeat(5));
const BIG = Buffer.from(multibulk('SET', 'big', 'v'.repeat(64 * 1024)));
const VALUE = Buffer.from('v'.repeat(100));
const ELEMENTS = Array.from({ length: 100 }, (_, i) => Buffer.from(`element:${i}`));

/** Parses every command in `input`, fed in one chunk or in `chunk`-byte pieces. */
function parseAll(input: Buffer, chunk = 0): number {
  const parser = new RequestParser(() => 512 * 1024 * 1024);
  let commands = 0;
  const pieces = chunk > 0 ? Math.ceil(input.length / chunk) : 1;
  for (let p = 0; p < pieces; p++) {
    parser.feed(chunk > 0 ? input.subarray(p * chunk, (p + 1) * chunk) : input);
    for (;;) {
      const r = parser.next();
      if (r === Parse.Command) commands++;
      else if (r !== Parse.Empty) break;
    }
  }
  return commands;
}

const writer = new ReplyWriter();

const suite = new Benchmark.Suite('keyfork protocol');
suite
  .add('parse: 16 pipelined SETs (100 B values), one chunk', () => parseAll(PIPELINE))
  .add('parse: 16 pipelined SETs, 512-byte chunks', () => parseAll(PIPELINE, 512))
  .add('parse: 15 inline commands', () => parseAll(INLINE))
  .add('parse: one 64 KB SET in 4 KB chunks', () => parseAll(BIG, 4096))
  .add('encode: +OK x16', () => {
    for (let i = 0; i < 16; i++) writer.ok();
    writer.len = 0;
  })
  .add('encode: 16 bulk replies of 100 B', () => {
    for (let i = 0; i < 16; i++) writer.bulk(VALUE);
    writer.len = 0;
  })
  .add('encode: integers x16', () => {
    for (let i = 0; i < 16; i++) writer.int(i * 1_000_003);
    writer.len = 0;
  })
  .add('encode: array of 100 bulk strings (LRANGE 0 99)', () => {
    writer.bulkArray(ELEMENTS);
    writer.len = 0;
  })
  .add('encode: RESP3 map of 10 doubles', () => {
    writer.resp3 = true;
    writer.map(10);
    for (let i = 0; i < 10; i++) {
      writer.bulk(`f${i}`);
      writer.double(i + 0.25);
    }
    writer.resp3 = false;
    writer.len = 0;
  })
  .on('cycle', (event: Benchmark.Event) => console.log(String(event.target)))
  .on('complete', () => {
    const load = require('node:fs').readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    console.log(`(load average ${load} while measuring; figures are comparable only in quiet)`);
  });

if (parseAll(PIPELINE) !== 16 || parseAll(PIPELINE, 512) !== 16 || parseAll(INLINE) !== 15 || parseAll(BIG, 4096) !== 1) {
  throw new Error('the parser did not find the commands the benchmark feeds it');
}
suite.run();
