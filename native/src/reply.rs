//! RESP2/RESP3 reply encoding for the data commands. The bytes go straight into the reply
//! buffer that is copied into the client's output Buffer: no JS values are created per reply.

use crate::numfmt;
use crate::rdb::numeric;

pub struct Reply {
    pub buf: Vec<u8>,
    pub resp3: bool,
    /// A reply this large closes the client it goes to (its class's output hard limit); 0 when
    /// none would, or when no client is behind it (a script's call).
    pub closing_bytes: u64,
}

impl Reply {
    pub fn new() -> Self { Reply { buf: Vec::with_capacity(64 * 1024), resp3: false, closing_bytes: 0 } }

    #[inline]
    fn line(&mut self, prefix: u8, n: i64) {
        self.buf.push(prefix);
        numfmt::push_i64(&mut self.buf, n);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) { self.buf.extend_from_slice(b"+OK\r\n"); }

    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `text` is the full error text including its code, e.g. "ERR syntax error".
    pub fn error(&mut self, text: &str) {
        self.buf.push(b'-');
        // An error line must not contain CR/LF: Redis replaces them with spaces.
        self.buf.extend(text.bytes().map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline] pub fn int(&mut self, n: i64) { self.line(b':', n); }

    /// `$<len>\r\n<data>\r\n`: room for all of it made once (LRANGE and the like write
    /// hundreds per reply).
    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        let n = data.len();
        self.buf.reserve(n + 3 + numeric::MAX_I64_DIGITS);
        // Short elements' headers as fixed-size stores, without the general formatter.
        if n < 10 {
            self.buf.extend_from_slice(&[b'$', b'0' + n as u8, b'\r', b'\n']);
        } else if n < 100 {
            self.buf.extend_from_slice(&[b'$', b'0' + (n / 10) as u8, b'0' + (n % 10) as u8, b'\r', b'\n']);
        } else {
            let mut digits = [0u8; numeric::MAX_I64_DIGITS];
            self.buf.push(b'$');
            self.buf.extend_from_slice(numeric::format_i64(n as i64, &mut digits));
            self.buf.extend_from_slice(b"\r\n");
        }
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_str(&mut self, s: &str) { self.bulk(s.as_bytes()); }

    pub fn bulk_i64(&mut self, n: i64) {
        let mut tmp = Vec::with_capacity(20);
        numfmt::push_i64(&mut tmp, n);
        self.bulk(&tmp);
    }

    /// The null bulk string (`$-1` / `_`).
    pub fn null(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"$-1\r\n" });
    }

    /// The null array (`*-1` / `_`), e.g. BLPOP timing out.
    pub fn null_array(&mut self) {
        self.buf.extend_from_slice(if self.resp3 { b"_\r\n" } else { b"*-1\r\n" });
    }

    pub fn array(&mut self, n: usize) { self.line(b'*', n as i64); }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3 { self.line(b'%', n as i64) } else { self.line(b'*', 2 * n as i64) }
    }

    /// A set reply: `~n` in RESP3, an array in RESP2.
    pub fn set(&mut self, n: usize) {
        if self.resp3 { self.line(b'~', n as i64) } else { self.line(b'*', n as i64) }
    }

    /// A double as Redis's addReplyDouble: `,` in RESP3, a bulk string with %.17g in RESP2.
    pub fn double(&mut self, d: f64) {
        let mut tmp = Vec::with_capacity(32);
        numfmt::push_double(&mut tmp, d);
        self.double_text(&tmp);
    }

    /// A number already formatted: a RESP3 double (`,`), a bulk string in RESP2.
    pub fn double_text(&mut self, text: &[u8]) {
        if self.resp3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    pub fn boolean(&mut self, b: bool) {
        if self.resp3 {
            self.buf.extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A verbatim string (`=len\r\ntxt:...`) in RESP3, a bulk string in RESP2.
    pub fn verbatim(&mut self, text: &[u8], format: &str) {
        if self.resp3 {
            self.line(b'=', (text.len() + 4) as i64);
            self.buf.extend_from_slice(format.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A big number: `(` in RESP3, a bulk string in RESP2 (addReplyBigNum).
    pub fn big_number(&mut self, digits: &[u8]) {
        if self.resp3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// The length of the reply written so far, for handlers that need to patch or roll back.
    pub fn mark(&self) -> usize { self.buf.len() }
    pub fn truncate(&mut self, mark: usize) { self.buf.truncate(mark); }
}

impl Default for Reply {
    fn default() -> Self { Self::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_headers_at_every_length_width() {
        for n in [0usize, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65536] {
            let data = vec![b'x'; n];
            let mut r = Reply::new();
            r.bulk(&data);
            assert_eq!(r.buf, [format!("${n}\r\n").into_bytes(), data, b"\r\n".to_vec()].concat(), "length {n}");
        }
    }
}
