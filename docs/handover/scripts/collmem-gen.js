// node gen.js keys perKey prefix -> RESP PFADD commands on stdout
const [keys, per, cmd] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] || 'PFADD'];
const out = [];
let buf = [];
function w(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  buf.push(s);
  if (buf.length > 200) { process.stdout.write(buf.join('')); buf = []; }
}
for (let i = 0; i < keys; i++) {
  const args = [cmd, `k:${i}`];
  for (let j = 0; j < per; j++) args.push(`m:${j}:${i}`);
  w(args);
}
process.stdout.write(buf.join(''));
