// Which directives keyfork acts on is not a list anybody keeps: it is the set of directives
// some code holds a handle for. Config's typed getters (int, bool, str, saveRules, onChange...)
// only take a handle, and a handle only comes from consume(), which records the directive
// as applied together with the test that shows keyfork behaves as Redis does for it. A
// directive nobody reads cannot be applied; one somebody reads cannot stay "unsupported".
//
// Declare handles at module level, next to the code that reads them (TypeScript's
// noUnusedLocals then flags a handle nobody uses):
//
//   const TIMEOUT = consume('timeout', 'test/server/timeout.test.ts');
//   ... this.config.int(TIMEOUT) ...
//
// src/start.ts imports every consumer (through server.ts) and then calls
// allConsumersLoaded(): from then on the set is complete, statuses can be asked for, and a
// late consume() (a dynamic import) is a bug that throws.

import { ConfigRow, findConfigRow } from './table';

declare const consumed_: unique symbol;

/** A handle on one directive, held by the code that acts on its value. Only consume() makes one. */
export interface Directive<N extends string = string> {
  readonly name: N;
  readonly [consumed_]: true;
}

export type DirectiveStatus = 'applied' | 'inert' | 'unsupported';

const consumed = new Map<string, { directive: Directive; proof: Set<string> }>();
let complete = false;

/**
 * Declares that the calling module acts on `name` (a canonical config name) as Redis does,
 * and names the test file(s) that show it. Several modules may consume one directive.
 */
export function consume<N extends string>(name: N, ...proof: [string, ...string[]]): Directive<N> {
  const row = findConfigRow(name);
  if (!row || row.name !== name) throw new Error(`consume('${name}'): not a canonical config name`);
  if (row.inert !== undefined) throw new Error(`consume('${name}'): the table says it is inert (${row.inert})`);
  if (complete) throw new Error(`consume('${name}') after start-up: declare handles at module level`);
  let entry = consumed.get(name);
  if (!entry) consumed.set(name, (entry = { directive: Object.freeze({ name }) as unknown as Directive, proof: new Set() }));
  for (const p of proof) entry.proof.add(p);
  return entry.directive as Directive<N>;
}

/** Called once every module that consumes directives has been loaded (src/start.ts). */
export function allConsumersLoaded(): void {
  complete = true;
}

function requireComplete(): void {
  if (!complete) throw new Error('directive statuses asked for before src/start.ts was loaded');
}

/** applied (some code consumes it), inert (the table gives a reason), else unsupported. */
export function directiveStatus(row: ConfigRow): DirectiveStatus {
  requireComplete();
  if (consumed.has(row.name)) return 'applied';
  return row.inert !== undefined ? 'inert' : 'unsupported';
}

/** Applied directives and the tests named as their proof. */
export function appliedDirectives(): ReadonlyMap<string, readonly string[]> {
  requireComplete();
  return new Map([...consumed].map(([name, e]) => [name, [...e.proof].sort()]));
}
