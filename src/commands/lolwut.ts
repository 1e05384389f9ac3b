// LOLWUT [VERSION v] [args...], as Redis 7.0 answers it: its own version only prints the
// version line; VERSION 5 draws Georg Nees's "Schotter" in Braille characters, VERSION 6 an
// 8-bit city skyline in terminal colours. Both use C's float arithmetic where Redis does (so
// the parts that involve no randomness come out identical) and Math.random where Redis calls
// rand().
import { REDIS_VERSION } from '../version';
import { argStr, ReplyError, type Ctx, type Handler } from './types';

const NOT_INTEGER = 'ERR value is not an integer or out of range';
const RAND_MAX = 2147483647;
const rand = (): number => Math.floor(Math.random() * (RAND_MAX + 1));
const f32 = Math.fround;
/** C's round(): halves away from zero. */
const cRound = (x: number): number => Math.sign(x) * Math.floor(Math.abs(x) + 0.5);

/** getLongFromObjectOrReply. */
function longArg(ctx: Ctx, i: number): number {
  const s = argStr(ctx.req, i);
  if (!/^-?(0|[1-9][0-9]*)$/.test(s)) throw new ReplyError(NOT_INTEGER);
  const n = BigInt(s);
  if (n < -(2n ** 63n) || n >= 2n ** 63n) throw new ReplyError(NOT_INTEGER);
  return Number(n);
}

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

/** A canvas of small integer colours; drawing outside it is ignored. */
class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: number,
  ) {
    this.pixels = new Uint8Array(width * height).fill(background);
  }

  set(x: number, y: number, color: number): void {
    if (x < 0 || x >= this.width || y < 0 || y >= this.height) return;
    this.pixels[x + y * this.width] = color;
  }

  get(x: number, y: number): number {
    if (x < 0 || x >= this.width || y < 0 || y >= this.height) return 0;
    return this.pixels[x + y * this.width];
  }

  /** Bresenham, as lwDrawLine. */
  line(x1: number, y1: number, x2: number, y2: number, color: number): void {
    const dx = Math.abs(x2 - x1);
    const dy = Math.abs(y2 - y1);
    const sx = x1 < x2 ? 1 : -1;
    const sy = y1 < y2 ? 1 : -1;
    let err = dx - dy;
    for (;;) {
      this.set(x1, y1, color);
      if (x1 === x2 && y1 === y2) break;
      const e2 = err * 2;
      if (e2 > -dy) {
        err -= dy;
        x1 += sx;
      }
      if (e2 < dx) {
        err += dx;
        y1 += sy;
      }
    }
  }

  /** lwDrawSquare: a square of side `size` centred on x,y and rotated by `angle` (floats as in C). */
  square(x: number, y: number, size: number, angle: number, color: number): void {
    size = f32(size / 1.4142135623);
    size = f32(cRound(size));
    let k = f32(Math.PI / 4 + angle);
    const px: number[] = [];
    const py: number[] = [];
    for (let j = 0; j < 4; j++) {
      px.push(cRound(Math.sin(k) * size + x));
      py.push(cRound(Math.cos(k) * size + y));
      k = f32(k + Math.PI / 2);
    }
    for (let j = 0; j < 4; j++) this.line(px[j], py[j], px[(j + 1) % 4], py[(j + 1) % 4], color);
  }
}

// --- LOLWUT VERSION 5 ----------------------------------------------------------------------

function schotter(consoleCols: number, perRow: number, perCol: number): Canvas {
  const width = consoleCols * 2;
  const padding = width > 4 ? 2 : 0;
  const side = f32(f32(width - padding * 2) / f32(perRow));
  const height = Math.trunc(f32(f32(side * f32(perCol)) + padding * 2));
  const canvas = new Canvas(width, height, 0);
  const half = f32(side / 2);
  for (let y = 0; y < perCol; y++) {
    for (let x = 0; x < perRow; x++) {
      let sx = Math.trunc(f32(f32(f32(x * side) + half) + padding));
      let sy = Math.trunc(f32(f32(f32(y * side) + half) + padding));
      let angle = 0;
      // Lower rows are rotated and moved more and more at random.
      if (y > 1) {
        let r1 = f32(f32(f32(rand() / RAND_MAX) / perCol) * y);
        let r2 = f32(f32(f32(rand() / RAND_MAX) / perCol) * y);
        let r3 = f32(f32(f32(rand() / RAND_MAX) / perCol) * y);
        if (rand() % 2) r1 = -r1;
        if (rand() % 2) r2 = -r2;
        if (rand() % 2) r3 = -r3;
        angle = r1;
        sx = Math.trunc(f32(sx + f32(f32(r2 * side) / 3)));
        sy = Math.trunc(f32(sy + f32(f32(r3 * side) / 3)));
      }
      canvas.square(sx, sy, side, angle, 1);
    }
  }
  return canvas;
}

/** Braille rendering: each character is a 2x4 group of pixels (lwRenderCanvas). */
function renderBraille(canvas: Canvas): string {
  let text = '';
  for (let y = 0; y < canvas.height; y += 4) {
    for (let x = 0; x < canvas.width; x += 2) {
      let byte = 0;
      if (canvas.get(x, y)) byte |= 1 << 0;
      if (canvas.get(x, y + 1)) byte |= 1 << 1;
      if (canvas.get(x, y + 2)) byte |= 1 << 2;
      if (canvas.get(x + 1, y)) byte |= 1 << 3;
      if (canvas.get(x + 1, y + 1)) byte |= 1 << 4;
      if (canvas.get(x + 1, y + 2)) byte |= 1 << 5;
      if (canvas.get(x, y + 3)) byte |= 1 << 6;
      if (canvas.get(x + 1, y + 3)) byte |= 1 << 7;
      text += String.fromCharCode(0x2800 + byte);
    }
    if (y !== canvas.height - 1) text += '\n';
  }
  return text;
}

/** The i-th argument after LOLWUT [VERSION v] as a long, or `fallback` when absent. */
function optionalLong(ctx: Ctx, first: number, i: number, fallback: number): number {
  return ctx.req.argc > first + i ? longArg(ctx, first + i) : fallback;
}

function lolwut5(ctx: Ctx, first: number): string {
  const cols = clamp(optionalLong(ctx, first, 0, 66), 1, 1000);
  const perRow = clamp(optionalLong(ctx, first, 1, 8), 1, 200);
  const perCol = clamp(optionalLong(ctx, first, 2, 12), 1, 200);
  return `${renderBraille(schotter(cols, perRow, perCol))}\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ${REDIS_VERSION}\n`;
}

// --- LOLWUT VERSION 6 ----------------------------------------------------------------------

interface Skyscraper {
  xoff: number;
  width: number;
  height: number;
  windows: boolean;
  color: number;
}

/** C's `/` and `%` on ints truncate toward zero. */
const div = (a: number, b: number): number => Math.trunc(a / b);

function skyscraper(canvas: Canvas, s: Skyscraper): void {
  const starty = canvas.height - 1;
  const endy = starty - s.height + 1;
  for (let y = starty; y >= endy; y--) {
    for (let x = s.xoff; x < s.xoff + s.width; x++) {
      // The roof is four pixels narrower.
      if (y === endy && (x <= s.xoff + 1 || x >= s.xoff + s.width - 2)) continue;
      let color = s.color;
      if (s.windows && x > s.xoff + 1 && x < s.xoff + s.width - 2 && y > endy + 1 && y < starty - 1) {
        const relx = x - (s.xoff + 1);
        const rely = y - (endy + 1);
        // Windows are two pixels wide and one tall (terminal cells are not square).
        if (div(relx, 2) % 2 && rely % 2) {
          do {
            color = 1 + (rand() % 2);
          } while (color === s.color);
          if (relx % 2) color = canvas.get(x - 1, y);
        }
      }
      canvas.set(x, y, color);
    }
  }
}

function skyline(canvas: Canvas): void {
  // Background buildings without windows, the lighter ones behind.
  for (let color = 2; color >= 1; color--) {
    for (let offset = -10; offset < canvas.width; ) {
      offset += rand() % 8;
      const width = 10 + (rand() % 9);
      const height = color === 2
        ? div(canvas.height, 2) + div(rand() % canvas.height, 2)
        : div(canvas.height, 2) + div(rand() % canvas.height, 3);
      skyscraper(canvas, { xoff: offset, width, height, windows: false, color });
      offset += color === 2 ? div(width, 2) : width + 1;
    }
  }
  // The foreground, with windows.
  for (let offset = -10; offset < canvas.width; ) {
    offset += rand() % 8;
    let width = 5 + (rand() % 14);
    if (width % 4) width += width % 3;
    const height = div(canvas.height, 3) + div(rand() % canvas.height, 2);
    skyscraper(canvas, { xoff: offset, width, height, windows: true, color: 0 });
    offset += width + 5;
  }
}

const GRAYS = ['0;30;40m', '0;90;100m', '0;37;47m', '0;97;107m'];

function renderColors(canvas: Canvas): string {
  let text = '';
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) text += `\x1b[${GRAYS[canvas.get(x, y)] ?? GRAYS[0]} \x1b[0m`;
    if (y !== canvas.height - 1) text += '\n';
  }
  return text;
}

function lolwut6(ctx: Ctx, first: number): string {
  const cols = clamp(optionalLong(ctx, first, 0, 80), 1, 1000);
  const rows = clamp(optionalLong(ctx, first, 1, 20), 1, 1000);
  const canvas = new Canvas(cols, rows, 3);
  skyline(canvas);
  return (
    `${renderColors(canvas)}\nDedicated to the 8 bit game developers of past and present.\n` +
    `Original 8 bit image from Plaguemon by hikikomori. Redis ver. ${REDIS_VERSION}\n`
  );
}

// --- the command -----------------------------------------------------------------------------

function lolwut(ctx: Ctx): void {
  const { req } = ctx;
  let version = REDIS_VERSION;
  let firstArg = 1;
  if (req.argc >= 3 && argStr(req, 1).toLowerCase() === 'version') {
    // "%u.0.0" of the number: only its first digits choose the drawing.
    const v = longArg(ctx, 2);
    version = `${BigInt.asUintN(32, BigInt(v))}.0.0`;
    firstArg = 3;
  }
  let text: string;
  if ((version.startsWith('5.') && version[2] !== '9') || version.startsWith('4.9')) text = lolwut5(ctx, firstArg);
  else if ((version.startsWith('6.') && version[2] !== '9') || version.startsWith('5.9')) text = lolwut6(ctx, firstArg);
  else text = `Redis ver. ${REDIS_VERSION}\n`;
  ctx.out.verbatim(text);
}

export const lolwutCommands: [string, Handler][] = [['lolwut', lolwut]];
