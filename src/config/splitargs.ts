// Tokenising and quoting exactly as Redis's sds.c does it (sdssplitargs, sdscatrepr,
// sdssplitlen with a one-space separator).
//
// Strings here are *byte strings*: one JS char per byte (latin1). A config file is read
// with 'latin1' and "\xHH" yields the char with code HH, so any byte sequence survives a
// round trip. Callers that hold Buffers convert with buf.toString('latin1') /
// Buffer.from(s, 'latin1').

/** C isspace() in the "C" locale. */
function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
}

function isHexDigit(ch: string | undefined): boolean {
  return ch !== undefined && /^[0-9a-fA-F]$/.test(ch);
}

/**
 * Splits a line into arguments the way redis.conf lines and inline commands are split.
 * Blanks between arguments are any isspace() character, but only space, \t, \r and \n
 * end an unquoted argument (a \v or \f inside one is part of it), as in sds.c.
 * Returns null on unbalanced quotes, or when a closing quote is followed by something
 * other than whitespace (Redis reports both as "Unbalanced quotes").
 */
export function splitArgs(line: string): string[] | null {
  // A C string ends at its first NUL: nothing after it is seen.
  const nul = line.indexOf('\0');
  if (nul >= 0) line = line.slice(0, nul);
  const args: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) return args;

    let inDouble = false;
    let inSingle = false;
    let current = '';
    let done = false;
    while (!done) {
      const ch = line[i]; // undefined past the end plays the role of C's '\0'
      if (inDouble) {
        if (ch === '\\' && line[i + 1] === 'x' && isHexDigit(line[i + 2]) && isHexDigit(line[i + 3])) {
          current += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (ch === '\\' && i + 1 < n) {
          i++;
          const esc = line[i];
          switch (esc) {
            case 'n': current += '\n'; break;
            case 'r': current += '\r'; break;
            case 't': current += '\t'; break;
            case 'b': current += '\b'; break;
            case 'a': current += '\x07'; break;
            default: current += esc; break;
          }
        } else if (ch === '"') {
          // A closing quote must be followed by a space or nothing at all.
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          done = true;
        } else if (ch === undefined) {
          return null; // unterminated quotes
        } else {
          current += ch;
        }
      } else if (inSingle) {
        if (ch === '\\' && line[i + 1] === "'") {
          i++;
          current += "'";
        } else if (ch === "'") {
          if (i + 1 < n && !isSpace(line[i + 1])) return null;
          done = true;
        } else if (ch === undefined) {
          return null;
        } else {
          current += ch;
        }
      } else {
        switch (ch) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
          case undefined:
            done = true;
            break;
          case '"':
            inDouble = true;
            break;
          case "'":
            inSingle = true;
            break;
          default:
            current += ch;
            break;
        }
      }
      if (i < n) i++;
    }
    args.push(current);
  }
}

/**
 * Quotes a byte string as sdscatrepr does: always in double quotes, with \\ \" \n \r \t
 * \a \b escaped and anything outside printable ASCII as \xhh.
 */
export function quoteRepr(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = value.charCodeAt(i);
    switch (ch) {
      case '\\':
      case '"':
        out += '\\' + ch;
        break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\x07': out += '\\a'; break;
      case '\b': out += '\\b'; break;
      default:
        if (code >= 0x20 && code <= 0x7e) out += ch;
        else out += '\\x' + (code & 0xff).toString(16).padStart(2, '0');
    }
  }
  return out + '"';
}

/**
 * sdssplitlen(value, " "): how CONFIG SET splits the value of a multi-argument config.
 * Unlike splitArgs it keeps empty pieces ("a  b" -> ["a", "", "b"]) and an empty value
 * gives no pieces at all.
 */
export function splitOnSpaces(value: string): string[] {
  if (value.length === 0) return [];
  return value.split(' ');
}

/** sdstrim(s, chars): strips the given characters from both ends. */
export function trimChars(s: string, chars: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && chars.includes(s[start])) start++;
  while (end > start && chars.includes(s[end - 1])) end--;
  return s.slice(start, end);
}
