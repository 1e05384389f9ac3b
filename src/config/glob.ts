// Redis's glob matcher (util.c stringmatchlen) as CONFIG GET uses it: `*`, `?`, `[abc]`,
// `[^a]`, `[a-z]` (reversed ranges allowed), `\x` escapes; optionally case-insensitive.

function lower(code: number): number {
  return code >= 65 && code <= 90 ? code + 32 : code;
}

export function stringMatch(pattern: string, subject: string, nocase: boolean): boolean {
  const skipLongerMatches = { value: false };
  return matchFrom(pattern, 0, subject, 0, nocase, skipLongerMatches);
}

function matchFrom(
  pattern: string,
  p: number,
  subject: string,
  s: number,
  nocase: boolean,
  skipLongerMatches: { value: boolean },
): boolean {
  const plen = pattern.length;
  const slen = subject.length;
  const same = (a: number, b: number): boolean => (nocase ? lower(a) === lower(b) : a === b);

  while (p < plen && s < slen) {
    const pc = pattern[p];
    if (pc === '*') {
      while (p + 1 < plen && pattern[p + 1] === '*') p++;
      if (p + 1 === plen) return true;
      while (s < slen) {
        if (matchFrom(pattern, p + 1, subject, s, nocase, skipLongerMatches)) return true;
        // The rest of the pattern matched nowhere later in the string: a longer match
        // for an earlier '*' cannot help either.
        if (skipLongerMatches.value) return false;
        s++;
      }
      skipLongerMatches.value = true;
      return false;
    } else if (pc === '?') {
      s++;
    } else if (pc === '[') {
      p++;
      const negate = pattern[p] === '^';
      if (negate) p++;
      let matched = false;
      const c = subject.charCodeAt(s);
      for (;;) {
        if (pattern[p] === '\\' && plen - p >= 2) {
          p++;
          if (pattern.charCodeAt(p) === c) matched = true;
        } else if (pattern[p] === ']') {
          break;
        } else if (p >= plen) {
          // Unterminated class: stop on the last pattern char so the outer step moves past it.
          p--;
          break;
        } else if (plen - p >= 3 && pattern[p + 1] === '-') {
          let start = pattern.charCodeAt(p);
          let end = pattern.charCodeAt(p + 2);
          let cc = c;
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            cc = lower(cc);
          }
          p += 2;
          if (cc >= start && cc <= end) matched = true;
        } else if (same(pattern.charCodeAt(p), c)) {
          matched = true;
        }
        p++;
      }
      if (negate) matched = !matched;
      if (!matched) return false;
      s++;
    } else {
      if (pc === '\\' && plen - p >= 2) p++;
      if (!same(pattern.charCodeAt(p), subject.charCodeAt(s))) return false;
      s++;
    }
    p++;
    if (s === slen) {
      while (p < plen && pattern[p] === '*') p++;
      break;
    }
  }
  return p >= plen && s === slen;
}

/** True when CONFIG GET must treat the argument as a pattern rather than a name. */
export function hasGlobChars(pattern: string): boolean {
  return /[[*?]/.test(pattern);
}
