//! The value types, one file each. `Value` is what an entry holds; each type reports the
//! encoding Redis 7.0 would use for the same data (OBJECT ENCODING, and the RDB writer).

pub mod hash;
pub mod list;
pub mod set;
pub mod string;
pub mod varint;
pub mod zset;

#[derive(Clone)]
pub enum Value {
    Str(string::StrVal),
    List(Box<list::List>),
    Hash(Box<hash::Hash>),
    Set(Box<set::Set>),
    ZSet(Box<zset::ZSet>),
}

impl Value {
    /// The TYPE reply.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// A collection with no elements left (Redis deletes such a key at once).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.len() == 0,
            Value::ZSet(z) => z.is_empty(),
        }
    }

    /// The OBJECT ENCODING reply.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }
}
