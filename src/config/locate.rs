//! Where a value sits in the config text, for errors found after parsing
//! (a gate's `with:` settings checked against the gate's own schema, a
//! gate's `uses:` line for an Actions annotation). serde_norway keeps no
//! spans, but it stamps the line and column of the node being read on any
//! error a visitor raises; so a visitor that walks down the path and fails
//! on purpose at the target reads its position back from that error,
//! without a second YAML parser.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step down a path in the config document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Key(k) => write!(f, ".{k}"),
            Step::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// The error the walk raises at its target; nothing else uses the text.
const FOUND: &str = "\u{0}modelgate: target found";

/// The 1-based line and column of the value at `path` in `text`: of the key
/// itself when the last step is a key. `None` when the path is absent or
/// the text does not parse.
pub fn locate(text: &str, path: &[Step]) -> Option<(usize, usize)> {
    let de = serde_norway::Deserializer::from_str(text);
    match Walk(path).deserialize(de) {
        // serde_norway puts the path in front of the message.
        Err(e) if e.to_string().contains(FOUND) => e.location().map(|l| (l.line(), l.column())),
        _ => None,
    }
}

struct Walk<'p>(&'p [Step]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.0.is_empty() {
            d.deserialize_any(Here)
        } else {
            d.deserialize_any(self)
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map or a list")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(want), rest)) = self.0.split_first() else {
            return Ok(());
        };
        while let Some(matched) = map.next_key_seed(KeyIs {
            want,
            here: rest.is_empty(),
        })? {
            if matched {
                return map.next_value_seed(Walk(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(want), rest)) = self.0.split_first() else {
            return Ok(());
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk(rest)).map(|_| ())
    }
    // A scalar where the path goes deeper: the path is absent.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Reads one map key: `true` when it is the wanted one, or the target
/// error when the path ends at this key.
struct KeyIs<'a> {
    want: &'a str,
    here: bool,
}

impl KeyIs<'_> {
    fn check<E: de::Error>(&self, key: &str) -> Result<bool, E> {
        match (key == self.want, self.here) {
            (true, true) => Err(E::custom(FOUND)),
            (matched, _) => Ok(matched),
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        self.check(v)
    }
    // Non-string keys match by their text, as they do once turned into JSON.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        self.check(&v.to_string())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// Fails on whatever value it meets, so the error carries its position.
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(FOUND))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(FOUND))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Step {
        Step::Key(k.into())
    }

    const CONFIG: &str = "\
model: m
holdout: { path: h.csv, label: y }
gates:
  - uses: builtin:drift
    with: { psi_fail: -1 }
  # a comment
  -   uses: ./g.wasm
      with:
        columns:
          amount: 2
        ignore: [a, b]
reference:
  uses: nope
";

    #[test]
    fn finds_keys_and_items_at_any_depth() {
        let at = |p: &[Step]| locate(CONFIG, p);
        assert_eq!(
            at(&[key("gates"), Step::Index(0), key("uses")]),
            Some((4, 5))
        );
        assert_eq!(
            at(&[key("gates"), Step::Index(1), key("uses")]),
            Some((7, 7))
        );
        assert_eq!(
            at(&[key("gates"), Step::Index(0), key("with"), key("psi_fail")]),
            Some((5, 13))
        );
        assert_eq!(
            at(&[
                key("gates"),
                Step::Index(1),
                key("with"),
                key("columns"),
                key("amount")
            ]),
            Some((10, 11))
        );
        assert_eq!(
            at(&[
                key("gates"),
                Step::Index(1),
                key("with"),
                key("ignore"),
                Step::Index(1)
            ]),
            Some((11, 21))
        );
        assert_eq!(at(&[key("gates"), Step::Index(1)]), Some((7, 7)));
    }

    #[test]
    fn an_absent_path_or_broken_text_has_no_position() {
        assert_eq!(locate(CONFIG, &[key("gates"), Step::Index(2)]), None);
        assert_eq!(locate(CONFIG, &[key("model"), key("x")]), None);
        assert_eq!(locate(CONFIG, &[key("nope")]), None);
        assert_eq!(locate("[: a\nb: 1", &[key("b")]), None);
    }
}
