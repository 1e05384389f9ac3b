// latest.svg, drawn by hand (no dependencies): save keys/s against dataset size for both
// servers, and the keyfork / redis-server ratios of command throughput and memory per element.
import { saveKeysPerSec } from './markdown';
import type { AllResults } from './results';

const WIDTH = 960;
const PANEL_HEIGHT = 320;
const MARGIN = { left: 80, right: 190, top: 50, bottom: 60 };
const COLORS = { keyfork: '#d9480f', redis: '#1c7ed6', p1: '#f08c00', p16: '#5f3dc4', used: '#2b8a3e', rss: '#868e96' };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
}

/** Round axis maximum and tick step: 1, 2 or 5 times a power of ten. */
function niceScale(max: number, ticks = 5): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / ticks;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  return { top: Math.ceil(max / step) * step, step };
}

function shortNumber(n: number): string {
  if (n >= 1e6) return `${+(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(2)}`;
}

interface Series {
  name: string;
  color: string;
}

function legend(x: number, y: number, series: Series[]): string {
  return series.map((s, i) => `<rect x="${x}" y="${y + i * 20 - 10}" width="14" height="10" fill="${s.color}"/>`
    + text(x + 20, y + i * 20, s.name, 'font-size="12"')).join('\n');
}

function emptyPanel(y0: number, title: string, why: string): string {
  return [text(MARGIN.left, y0 + 24, title, 'font-size="15" font-weight="bold"'),
    text(WIDTH / 2, y0 + PANEL_HEIGHT / 2, why, 'font-size="13" text-anchor="middle" fill="#868e96"')].join('\n');
}

interface LineSeries extends Series {
  points: Array<[number, number]>;
}

/** x on a log scale (dataset sizes span two decades), y linear from 0. */
function lineChart(y0: number, title: string, xLabel: string, yLabel: string, series: LineSeries[]): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return emptyPanel(y0, title, 'no results yet');
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const xs = [...new Set(all.map((p) => p[0]))].sort((a, b) => a - b);
  const lx = (v: number) => Math.log10(v);
  const xMin = lx(xs[0]) - 0.15;
  const xMax = lx(xs[xs.length - 1]) + 0.15;
  const { top, step } = niceScale(Math.max(...all.map((p) => p[1])));
  const px = (v: number) => MARGIN.left + ((lx(v) - xMin) / (xMax - xMin)) * plotW;
  const py = (v: number) => y0 + MARGIN.top + plotH - (v / top) * plotH;
  const parts = [text(MARGIN.left, y0 + 24, title, 'font-size="15" font-weight="bold"')];
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#e9ecef"/>`,
      text(MARGIN.left - 8, py(v) + 4, shortNumber(v), 'font-size="11" text-anchor="end"'));
  }
  for (const x of xs) parts.push(text(px(x), y0 + MARGIN.top + plotH + 18, shortNumber(x), 'font-size="11" text-anchor="middle"'));
  parts.push(text(MARGIN.left + plotW / 2, y0 + PANEL_HEIGHT - 14, xLabel, 'font-size="12" text-anchor="middle"'),
    text(18, y0 + MARGIN.top + plotH / 2, yLabel, `font-size="12" text-anchor="middle" transform="rotate(-90 18 ${(y0 + MARGIN.top + plotH / 2).toFixed(1)})"`));
  for (const s of series) {
    if (s.points.length === 0) continue;
    const pts = [...s.points].sort((a, b) => a[0] - b[0]);
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) {
      parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="4" fill="${s.color}"><title>${esc(`${s.name}: ${shortNumber(y)} at ${shortNumber(x)}`)}</title></circle>`);
    }
  }
  parts.push(legend(WIDTH - MARGIN.right + 20, y0 + MARGIN.top + 10, series));
  return parts.join('\n');
}

interface BarSeries extends Series {
  values: Array<number | null>;
}

/** Grouped bars of ratios with the 1.0 line (parity with redis-server) drawn across. */
function parityKey(x: number, y: number): string {
  return `<line x1="${x}" x2="${x + 14}" y1="${y - 5}" y2="${y - 5}" stroke="#212529" stroke-dasharray="4 2"/>`
    + text(x + 20, y, 'parity (1.0)', 'font-size="12"');
}

function ratioBars(y0: number, title: string, categories: string[], series: BarSeries[], yLabel: string, subtitle = ''): string {
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  if (values.length === 0) return emptyPanel(y0, title, 'no ratios yet (needs both servers and the feature in keyfork)');
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const { top, step } = niceScale(Math.max(1.2, ...values));
  const py = (v: number) => y0 + MARGIN.top + plotH - (v / top) * plotH;
  const groupW = plotW / categories.length;
  const barW = Math.min(28, (groupW * 0.8) / series.length);
  const parts = [text(MARGIN.left, y0 + 24, title, 'font-size="15" font-weight="bold"')];
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}" stroke="#e9ecef"/>`,
      text(MARGIN.left - 8, py(v) + 4, `${+v.toFixed(2)}`, 'font-size="11" text-anchor="end"'));
  }
  categories.forEach((cat, i) => {
    const gx = MARGIN.left + i * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null) return;
      const x = gx + j * barW;
      parts.push(`<rect x="${x.toFixed(1)}" y="${py(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(py(0) - py(v)).toFixed(1)}" fill="${s.color}"><title>${esc(`${cat} ${s.name}: ${v.toFixed(2)}`)}</title></rect>`);
    });
    const cx = MARGIN.left + i * groupW + groupW / 2;
    if (series.every((s) => s.values[i] === null)) parts.push(text(cx, py(0) - 4, 'n/a', 'font-size="10" text-anchor="middle" fill="#adb5bd"'));
    parts.push(text(cx, y0 + MARGIN.top + plotH + 16, cat, `font-size="10" text-anchor="end" transform="rotate(-30 ${cx.toFixed(1)} ${(y0 + MARGIN.top + plotH + 16).toFixed(1)})"`));
  });
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(1).toFixed(1)}" y2="${py(1).toFixed(1)}" stroke="#212529" stroke-dasharray="5 4"/>`,

    text(18, y0 + MARGIN.top + plotH / 2, yLabel, `font-size="12" text-anchor="middle" transform="rotate(-90 18 ${(y0 + MARGIN.top + plotH / 2).toFixed(1)})"`),
    legend(WIDTH - MARGIN.right + 20, y0 + MARGIN.top + 30, series),
    parityKey(WIDTH - MARGIN.right + 20, y0 + MARGIN.top + 30 + series.length * 20));
  if (subtitle) parts.push(text(MARGIN.left, y0 + 40, subtitle, 'font-size="11" fill="#495057"'));
  return parts.join('\n');
}

function ratioOf(k: number | null | undefined, r: number | null | undefined): number | null {
  return k == null || r == null || r === 0 ? null : k / r;
}

export function renderSvg(all: AllResults): string {
  const panels: string[] = [];
  let y = 0;
  const strings = all.save?.datasets.filter((d) => d.name.startsWith('strings-')) ?? [];
  const line = (kind: 'keyfork' | 'redis'): LineSeries => ({
    name: kind === 'keyfork' ? 'keyfork' : 'redis-server',
    color: COLORS[kind],
    points: strings.flatMap((d) => {
      const res = d.servers[kind];
      const v = res ? saveKeysPerSec(res, d) : null;
      return v === null ? [] : [[d.keys, v] as [number, number]];
    }),
  });
  panels.push(lineChart(y, 'BGSAVE: keys written per second by the child (100-byte strings)', 'keys in the dataset (log scale)', 'keys/s', [line('keyfork'), line('redis')]));
  y += PANEL_HEIGHT;

  const t = all.throughput;
  const tests = t ? [...new Set(t.rows.map((r) => r.test))] : [];
  const base = t?.clients ?? 0;
  const passKey = (r: { pipeline: number; clients?: number }) => `${r.pipeline}:${r.clients ?? base}`;
  const bySeries = (key: string, pick: 'rps' | 'cpu') => tests.map((test) => {
    const row = t?.rows.find((r) => r.test === test && passKey(r) === key);
    if (!row) return null;
    return pick === 'rps'
      ? ratioOf(row.servers.keyfork?.rps, row.servers.redis?.rps)
      : ratioOf(row.servers.redis?.cpuUsPerRequest, row.servers.keyfork?.cpuUsPerRequest);
  });
  const passes = t ? [...new Map(t.rows.map((r) => [passKey(r), { pipeline: r.pipeline, clients: r.clients ?? base }])).entries()] : [];
  const RPS_COLORS = [COLORS.p1, COLORS.p16, '#2f9e44'];
  const CPU_COLORS = ['#ffd8a8', '#d0bfff', '#b2f2bb'];
  panels.push(ratioBars(y, 'Command throughput: keyfork / redis-server (above 1: keyfork faster)', tests,
    passes.flatMap(([key, p], i) => [
      { name: `rps, -P ${p.pipeline} -c ${p.clients}`, color: RPS_COLORS[i % 3], values: bySeries(key, 'rps') },
      ...(p.clients === base ? [{ name: `CPU efficiency, -P ${p.pipeline}`, color: CPU_COLORS[i % 3], values: bySeries(key, 'cpu') }] : []),
    ]), 'ratio', 'CPU efficiency: redis-server CPU time per request / keyfork CPU time per request (server process, /proc)'));
  y += PANEL_HEIGHT;

  const m = all.memory;
  const cases = m?.rows.map((r) => r.name) ?? [];
  panels.push(ratioBars(y, 'Memory per element: keyfork / redis-server (below 1: keyfork smaller)', cases, [
    { name: 'used_memory', color: COLORS.used, values: m?.rows.map((r) => ratioOf(r.servers.keyfork?.usedMemoryPerElement, r.servers.redis?.usedMemoryPerElement)) ?? [] },
    { name: 'RSS', color: COLORS.rss, values: m?.rows.map((r) => ratioOf(r.servers.keyfork?.rssPerElement, r.servers.redis?.rssPerElement)) ?? [] },
  ], 'ratio'));
  y += PANEL_HEIGHT;

  const date = [all.save?.date, all.throughput?.date, all.memory?.date].filter(Boolean).sort().pop() ?? '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y + 30}" viewBox="0 0 ${WIDTH} ${y + 30}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...panels,
    text(MARGIN.left, y + 16, `keyfork vs redis-server 7.0, same machine, same run. ${date}`, 'font-size="11" fill="#868e96"'),
    '</svg>',
    '',
  ].join('\n');
}
