// Progress on stderr while a benchmark runs: timestamped steps, and a counter that rewrites
// its line on a terminal (or prints every 25% when stderr is a file or a pipe).
const started = Date.now();
const tty = process.stderr.isTTY === true;
let openLine = false;

function elapsed(): string {
  const s = Math.floor((Date.now() - started) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export function step(message: string): void {
  if (openLine) process.stderr.write('\n');
  openLine = false;
  process.stderr.write(`[${elapsed()}] ${message}\n`);
}

export function note(message: string): void {
  step(`  note: ${message}`);
}

export class Counter {
  private lastQuarter = -1;
  constructor(private readonly label: string, private readonly total: number) {}

  update(done: number): void {
    const pct = this.total === 0 ? 100 : Math.floor((done / this.total) * 100);
    if (tty) {
      process.stderr.write(`\r[${elapsed()}]   ${this.label}: ${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')} (${pct}%)`);
      openLine = true;
      return;
    }
    const quarter = Math.floor(pct / 25);
    if (quarter !== this.lastQuarter) {
      this.lastQuarter = quarter;
      step(`  ${this.label}: ${pct}%`);
    }
  }

  done(extra = ''): void {
    if (tty) {
      process.stderr.write(`\r[${elapsed()}]   ${this.label}: ${this.total.toLocaleString('en-US')} done${extra ? ` ${extra}` : ''}\x1b[K\n`);
      openLine = false;
    } else step(`  ${this.label}: done${extra ? ` ${extra}` : ''}`);
  }
}
