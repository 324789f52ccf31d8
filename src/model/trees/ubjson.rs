//! A Universal Binary JSON reader, enough for XGBoost's `.ubj` models
//! (`Booster.save_model("*.ubj")`): the value types, strongly typed
//! containers (`$type#count`) and counted containers. Every length is
//! checked against the input, so a corrupt file is an error, not a crash.

use crate::model::error::{FormatError, malformed};
use serde_json::{Map, Number, Value};

/// Nesting deeper than this is refused (XGBoost models nest about 6 deep).
const MAX_DEPTH: usize = 64;

pub fn parse(bytes: &[u8]) -> Result<Value, FormatError> {
    let mut r = Reader { b: bytes, pos: 0 };
    let v = r.value(None, 0)?;
    Ok(v)
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn err(&self, what: &str) -> FormatError {
        malformed!("UBJSON at byte {}: {what}", self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], FormatError> {
        if self.b.len() - self.pos < n {
            return Err(self.err("unexpected end of file"));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, FormatError> {
        Ok(self.take(1)?[0])
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn int(&mut self, marker: u8) -> Result<i64, FormatError> {
        Ok(match marker {
            b'i' => i64::from(self.take(1)?[0] as i8),
            b'U' => i64::from(self.take(1)?[0]),
            b'I' => i64::from(i16::from_be_bytes(self.arr()?)),
            b'l' => i64::from(i32::from_be_bytes(self.arr()?)),
            b'L' => i64::from_be_bytes(self.arr()?),
            _ => return Err(self.err(&format!("expected an integer, found `{}`", marker as char))),
        })
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len(&mut self) -> Result<usize, FormatError> {
        let m = self.byte()?;
        let n = self.int(m)?;
        let n = usize::try_from(n).map_err(|_| self.err("negative length"))?;
        // Every element takes at least one byte: a larger count is corrupt.
        if n > self.b.len() - self.pos {
            return Err(self.err("length beyond the end of the file"));
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, FormatError> {
        let n = self.len()?;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| self.err("string is not UTF-8"))
    }

    fn value(&mut self, typed: Option<u8>, depth: usize) -> Result<Value, FormatError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        let m = match typed {
            Some(t) => t,
            None => loop {
                let m = self.byte()?;
                if m != b'N' {
                    break m;
                }
            },
        };
        Ok(match m {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::from(self.int(m)?),
            b'd' => float(f64::from(f32::from_be_bytes(self.arr()?))),
            b'D' => float(f64::from_be_bytes(self.arr()?)),
            b'H' => {
                let s = self.string()?;
                serde_json::from_str::<Number>(&s)
                    .map(Value::Number)
                    .map_err(|_| self.err("bad high-precision number"))?
            }
            b'C' => Value::String((self.byte()? as char).to_string()),
            b'S' => Value::String(self.string()?),
            b'[' => {
                let (ty, count) = self.container_header()?;
                let mut out = Vec::new();
                match count {
                    Some(n) => {
                        out.reserve(n.min(1 << 20));
                        for _ in 0..n {
                            out.push(self.value(ty, depth + 1)?);
                        }
                    }
                    None => {
                        while self.peek() != Some(b']') {
                            if self.peek().is_none() {
                                return Err(self.err("unterminated array"));
                            }
                            out.push(self.value(None, depth + 1)?);
                        }
                        self.pos += 1;
                    }
                }
                Value::Array(out)
            }
            b'{' => {
                let (ty, count) = self.container_header()?;
                let mut out = Map::new();
                match count {
                    Some(n) => {
                        for _ in 0..n {
                            let k = self.string()?;
                            let v = self.value(ty, depth + 1)?;
                            out.insert(k, v);
                        }
                    }
                    None => {
                        while self.peek() != Some(b'}') {
                            if self.peek().is_none() {
                                return Err(self.err("unterminated object"));
                            }
                            let k = self.string()?;
                            let v = self.value(None, depth + 1)?;
                            out.insert(k, v);
                        }
                        self.pos += 1;
                    }
                }
                Value::Object(out)
            }
            other => return Err(self.err(&format!("unknown marker `{}`", other as char))),
        })
    }

    fn container_header(&mut self) -> Result<(Option<u8>, Option<usize>), FormatError> {
        let mut ty = None;
        if self.peek() == Some(b'$') {
            self.pos += 1;
            ty = Some(self.byte()?);
            if self.peek() != Some(b'#') {
                return Err(self.err("a typed container needs a count"));
            }
        }
        if self.peek() == Some(b'#') {
            self.pos += 1;
            return Ok((ty, Some(self.len()?)));
        }
        Ok((ty, None))
    }
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_typed_and_untyped_containers() {
        // {"a": [1, 2] as int8 typed, "b": "hi", "c": 1.5f32}
        let mut b = vec![b'{'];
        b.extend([b'i', 1, b'a', b'[', b'$', b'i', b'#', b'i', 2, 1, 2]);
        b.extend([b'i', 1, b'b', b'S', b'i', 2, b'h', b'i']);
        b.extend([b'i', 1, b'c', b'd']);
        b.extend(1.5f32.to_be_bytes());
        b.push(b'}');
        let v = parse(&b).unwrap();
        assert_eq!(v, serde_json::json!({"a": [1, 2], "b": "hi", "c": 1.5}));
    }

    #[test]
    fn corrupt_input_is_an_error() {
        assert!(parse(b"[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff").is_err());
        assert!(parse(b"[i").is_err());
        assert!(parse(b"{i\x01a").is_err());
        assert!(parse(&[b'['; 100]).is_err());
    }
}
