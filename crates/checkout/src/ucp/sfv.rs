//! RFC 8941 structured field dictionaries, as far as UCP uses them: `UCP-Agent`
//! (`profile="…"`), `Signature-Input` (inner lists of component names with
//! parameters), `Signature` and `Content-Digest` (byte sequences). Each member
//! keeps its raw text, which RFC 9421 signs as the `@signature-params` line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// Longest header this parser reads (signature headers are a few hundred bytes).
pub const FIELD_LEN_MAX: usize = 8 * 1024;
/// Most members, list items or parameters it reads.
const ENTRIES_MAX: usize = 64;

/// A bare item.
#[derive(Clone, Debug, PartialEq)]
pub enum Bare {
    Integer(i64),
    /// A decimal, kept as written.
    Decimal(String),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Boolean(bool),
}

impl Bare {
    /// The string or token, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Bare::String(s) | Bare::Token(s) => Some(s),
            _ => None,
        }
    }
}

/// Parameters, in order.
pub type Params = Vec<(String, Bare)>;

/// A dictionary member's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Item(Bare, Params),
    InnerList(Vec<(Bare, Params)>, Params),
}

impl Value {
    /// The member's parameters.
    pub fn params(&self) -> &Params {
        match self {
            Value::Item(_, p) | Value::InnerList(_, p) => p,
        }
    }

    /// A parameter by name.
    pub fn param(&self, name: &str) -> Option<&Bare> {
        self.params()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A dictionary member: its key, value and the raw text of the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub value: Value,
    pub raw: String,
}

/// Why a field did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed structured field: {0}")]
pub struct SfvError(pub &'static str);

/// Parses a dictionary (RFC 8941 §4.2.2).
pub fn parse_dictionary(input: &str) -> Result<Vec<Member>, SfvError> {
    if input.len() > FIELD_LEN_MAX {
        return Err(SfvError("too long"));
    }
    let mut p = Parser {
        s: input.as_bytes(),
        i: 0,
    };
    p.skip_sp();
    let mut out = Vec::new();
    while !p.done() {
        if out.len() >= ENTRIES_MAX {
            return Err(SfvError("too many members"));
        }
        let key = p.key()?;
        let (value, start) = if p.peek() == Some(b'=') {
            p.i += 1;
            let start = p.i;
            (p.member_value()?, start)
        } else {
            // A bare key is `true`, possibly with parameters.
            let start = p.i;
            (Value::Item(Bare::Boolean(true), p.params()?), start)
        };
        out.push(Member {
            key,
            value,
            raw: input[start..p.i].to_string(),
        });
        p.skip_ows();
        if p.done() {
            break;
        }
        if p.peek() != Some(b',') {
            return Err(SfvError("expected `,` between members"));
        }
        p.i += 1;
        p.skip_ows();
        if p.done() {
            return Err(SfvError("trailing `,`"));
        }
    }
    Ok(out)
}

/// The byte sequence of `key` in a dictionary such as `Signature` or
/// `Content-Digest` (`sig1=:…:`).
pub fn dictionary_bytes(input: &str, key: &str) -> Result<Option<Vec<u8>>, SfvError> {
    Ok(parse_dictionary(input)?
        .into_iter()
        .find(|m| m.key == key)
        .and_then(|m| match m.value {
            Value::Item(Bare::Bytes(b), _) => Some(b),
            _ => None,
        }))
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn key(&mut self) -> Result<String, SfvError> {
        let start = self.i;
        match self.peek() {
            Some(c) if c.is_ascii_lowercase() || c == b'*' => self.i += 1,
            _ => return Err(SfvError("a key starts with a lowercase letter or `*`")),
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.*".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn member_value(&mut self) -> Result<Value, SfvError> {
        if self.peek() == Some(b'(') {
            self.inner_list()
        } else {
            let bare = self.bare()?;
            let params = self.params()?;
            Ok(Value::Item(bare, params))
        }
    }

    fn inner_list(&mut self) -> Result<Value, SfvError> {
        self.i += 1; // `(`
        let mut items = Vec::new();
        loop {
            self.skip_sp();
            match self.peek() {
                Some(b')') => {
                    self.i += 1;
                    let params = self.params()?;
                    return Ok(Value::InnerList(items, params));
                }
                None => return Err(SfvError("unterminated inner list")),
                Some(_) => {
                    if items.len() >= ENTRIES_MAX {
                        return Err(SfvError("too many list items"));
                    }
                    let bare = self.bare()?;
                    let params = self.params()?;
                    items.push((bare, params));
                    if !matches!(self.peek(), Some(b' ' | b')')) {
                        return Err(SfvError("expected ` ` or `)` in an inner list"));
                    }
                }
            }
        }
    }

    fn params(&mut self) -> Result<Params, SfvError> {
        let mut params = Vec::new();
        while self.peek() == Some(b';') {
            if params.len() >= ENTRIES_MAX {
                return Err(SfvError("too many parameters"));
            }
            self.i += 1;
            self.skip_sp();
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.i += 1;
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            params.push((key, value));
        }
        Ok(params)
    }

    fn bare(&mut self) -> Result<Bare, SfvError> {
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.i += 1;
                let b = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err(SfvError("a boolean is ?0 or ?1")),
                };
                self.i += 1;
                Ok(Bare::Boolean(b))
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => Ok(self.token()),
            _ => Err(SfvError("unexpected character")),
        }
    }

    fn string(&mut self) -> Result<Bare, SfvError> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err(SfvError("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Bare::String(String::from_utf8_lossy(&out).into_owned()));
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(c);
                            self.i += 1;
                        }
                        _ => return Err(SfvError("bad escape in a string")),
                    }
                }
                Some(c) if (0x20..0x7f).contains(&c) => {
                    out.push(c);
                    self.i += 1;
                }
                Some(_) => return Err(SfvError("non-ASCII in a string")),
            }
        }
    }

    fn bytes(&mut self) -> Result<Bare, SfvError> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b':' {
                break;
            }
            self.i += 1;
        }
        if self.peek() != Some(b':') {
            return Err(SfvError("unterminated byte sequence"));
        }
        let text = &self.s[start..self.i];
        self.i += 1;
        B64.decode(text)
            .map(Bare::Bytes)
            .map_err(|_| SfvError("byte sequence is not base64"))
    }

    fn number(&mut self) -> Result<Bare, SfvError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let mut decimal = false;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                self.i += 1;
            } else if c == b'.' && !decimal {
                decimal = true;
                self.i += 1;
            } else {
                break;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| SfvError("number"))?;
        if text.len() > 20 || text == "-" {
            return Err(SfvError("bad number"));
        }
        if decimal {
            Ok(Bare::Decimal(text.to_string()))
        } else {
            text.parse()
                .map(Bare::Integer)
                .map_err(|_| SfvError("integer out of range"))
        }
    }

    fn token(&mut self) -> Bare {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c) {
                self.i += 1;
            } else {
                break;
            }
        }
        Bare::Token(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_input_keeps_its_components_params_and_raw_text() {
        let header = r#"sig1=("@method" "@authority" "@path" "content-digest");created=1618884473;keyid="test-key-ecc-p256""#;
        let d = parse_dictionary(header).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].key, "sig1");
        assert_eq!(
            d[0].raw,
            r#"("@method" "@authority" "@path" "content-digest");created=1618884473;keyid="test-key-ecc-p256""#
        );
        let Value::InnerList(items, _) = &d[0].value else {
            panic!("inner list")
        };
        let names: Vec<_> = items.iter().filter_map(|(b, _)| b.as_str()).collect();
        assert_eq!(names, ["@method", "@authority", "@path", "content-digest"]);
        assert_eq!(
            d[0].value.param("created"),
            Some(&Bare::Integer(1618884473))
        );
        assert_eq!(
            d[0].value.param("keyid").and_then(Bare::as_str),
            Some("test-key-ecc-p256")
        );
    }

    #[test]
    fn ucp_agent_reads_as_a_dictionary_with_or_without_a_version_parameter() {
        let d = parse_dictionary(r#"profile="https://a.example/p.json""#).unwrap();
        assert_eq!(
            d[0].value,
            Value::Item(Bare::String("https://a.example/p.json".into()), vec![])
        );
        // The conformance suite writes `profile="…"; version="…"`: a parameter.
        let d = parse_dictionary(r#"profile="..."; version="2026-01-11""#).unwrap();
        assert_eq!(
            d[0].value.param("version").and_then(Bare::as_str),
            Some("2026-01-11")
        );
        let d = parse_dictionary(r#"profile="x", version="2026-04-08""#).unwrap();
        assert_eq!(d[1].key, "version");
    }

    #[test]
    fn byte_sequences_and_bad_input() {
        let digest = dictionary_bytes("sha-256=:AAEC:", "sha-256").unwrap();
        assert_eq!(digest, Some(vec![0, 1, 2]));
        for bad in [
            "Profile=\"x\"",
            "a=\"unterminated",
            "a=:not base64!:",
            "a=(\"x\"",
            "a=1,",
            "a=\"\\x\"",
            "a=é",
        ] {
            assert!(parse_dictionary(bad).is_err(), "{bad}");
        }
        assert!(parse_dictionary(&"a".repeat(FIELD_LEN_MAX + 1)).is_err());
    }
}
