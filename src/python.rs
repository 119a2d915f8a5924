//! `PythonVersion`: a CPython major.minor, as pyslim reasons about it (catalogue, scan, plan).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CPython `major.minor` version such as 3.13. Serialized as the string `"3.13"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PythonVersion {
    pub major: u8,
    pub minor: u8,
}

impl PythonVersion {
    pub const fn new(major: u8, minor: u8) -> Self {
        Self { major, minor }
    }

    /// Reads `3.11`, `3.11.4`, `python-3.11.4`, `python3.11`, `3.11-slim` and similar spellings,
    /// keeping only major.minor. Returns `None` when no `3.N` can be read.
    pub fn parse_loose(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t
            .trim_start_matches("python-")
            .trim_start_matches("python")
            .trim_start_matches("cpython-")
            .trim_start_matches('v')
            .trim();
        let mut parts = t.split(|c: char| !c.is_ascii_digit());
        let major: u8 = parts.next()?.parse().ok()?;
        let minor: u8 = parts.next()?.parse().ok()?;
        if major != 3 {
            return None;
        }
        Some(Self { major, minor })
    }
}

impl fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Error for a string that is not a `3.N` version.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a Python version like 3.12")]
pub struct BadPythonVersion(pub String);

impl FromStr for PythonVersion {
    type Err = BadPythonVersion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut it = s.trim().split('.');
        let (Some(a), Some(b), None) = (it.next(), it.next(), it.next()) else {
            return Err(BadPythonVersion(s.to_string()));
        };
        match (a.parse::<u8>(), b.parse::<u8>()) {
            (Ok(3), Ok(minor)) => Ok(Self { major: 3, minor }),
            _ => Err(BadPythonVersion(s.to_string())),
        }
    }
}

impl Serialize for PythonVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PythonVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_spellings() {
        for s in ["3.11", "3.11.4", "python-3.11.4", "python3.11", "3.11-slim", " 3.11\n"] {
            assert_eq!(PythonVersion::parse_loose(s), Some(PythonVersion::new(3, 11)), "{s}");
        }
        assert_eq!(PythonVersion::parse_loose("2.7"), None);
        assert_eq!(PythonVersion::parse_loose("latest"), None);
    }

    #[test]
    fn strict_parse_and_serde() {
        assert!("3.1x".parse::<PythonVersion>().is_err());
        assert!("3.12.1".parse::<PythonVersion>().is_err());
        let v: PythonVersion = "3.12".parse().unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"3.12\"");
    }
}
