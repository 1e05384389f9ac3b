//! The single error type of the RDB codecs.

use std::borrow::Cow;
use std::fmt;

/// A decoding (or, rarely, encoding) failure with a message in the style of
/// Redis's own log lines, e.g. "Unexpected EOF reading RDB file".
#[derive(Clone, PartialEq, Eq)]
pub struct RdbError {
    message: Cow<'static, str>,
}

impl RdbError {
    /// An error with a fixed message (no allocation).
    pub const fn new(message: &'static str) -> Self {
        RdbError { message: Cow::Borrowed(message) }
    }

    /// An error with a formatted message.
    pub fn msg(message: String) -> Self {
        RdbError { message: Cow::Owned(message) }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error every reader returns when the input ends early.
    pub const fn eof() -> Self {
        RdbError::new("Unexpected EOF reading RDB file")
    }
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RdbError({:?})", self.message)
    }
}

impl std::error::Error for RdbError {}

pub type RdbResult<T> = Result<T, RdbError>;
