//! Standard Webhooks v1 signatures and the `whsec_` secrets they are keyed with.
//!
//! The receiver recomputes `base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))` with the key
//! it was given and compares it with each `v1,` entry of `webhook-signature`. During a
//! rotation both the new and the old secret sign, so receivers that still hold the old one
//! keep accepting deliveries.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, STANDARD_PAD_INDIFFERENT};
use base64::{DecodeError, Engine};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What every secret starts with (Standard Webhooks).
pub const SECRET_PREFIX: &str = "whsec_";

/// The key length Standard Webhooks allows, in bytes.
pub const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// How many random bytes a generated secret has.
const GENERATED_SECRET_BYTES: usize = 32;

/// A hook secret: its text (`whsec_` + base64), kept for storage, and the key bytes it
/// decodes to. `Debug` shows only the fingerprint, so a secret never reaches a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    text: String,
    key: Vec<u8>,
}

/// Why a secret was rejected. The messages never repeat the secret itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    /// The text does not start with `whsec_`.
    MissingPrefix,
    /// The part after `whsec_` is not standard base64.
    NotBase64(String),
    /// The key decodes to a length outside 24..=64 bytes.
    WrongLength(usize),
    /// The operating system gave no random bytes.
    NoRandomness(String),
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretError::MissingPrefix => write!(f, "the secret must start with {SECRET_PREFIX}"),
            SecretError::NotBase64(why) => {
                write!(f, "the part after {SECRET_PREFIX} must be standard base64: {why}")
            }
            SecretError::WrongLength(n) => write!(
                f,
                "the secret decodes to {n} bytes; it must be {} to {} bytes",
                SECRET_BYTES.start(),
                SECRET_BYTES.end()
            ),
            SecretError::NoRandomness(why) => write!(f, "no random bytes from the operating system: {why}"),
        }
    }
}

impl std::error::Error for SecretError {}

impl Secret {
    /// Reads a secret in its `whsec_<base64>` form. Padding is optional, as some generators
    /// drop it; anything else that is not standard base64 is an error.
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SecretError::MissingPrefix)?;
        let key = STANDARD_PAD_INDIFFERENT.decode(encoded).map_err(|e| SecretError::NotBase64(describe(e)))?;
        if !SECRET_BYTES.contains(&key.len()) {
            return Err(SecretError::WrongLength(key.len()));
        }
        Ok(Secret { text: text.to_owned(), key })
    }

    /// A new secret of 32 bytes from the operating system's generator.
    pub fn generate() -> Result<Secret, SecretError> {
        let mut key = vec![0u8; GENERATED_SECRET_BYTES];
        getrandom::fill(&mut key).map_err(|e| SecretError::NoRandomness(e.to_string()))?;
        Ok(Secret::from_key(key))
    }

    /// The secret for given key bytes (24..=64 of them; callers pass generated keys).
    fn from_key(key: Vec<u8>) -> Secret {
        Secret { text: format!("{SECRET_PREFIX}{}", STANDARD.encode(&key)), key }
    }

    /// The `whsec_...` text, as stored and as shown once to the hook's creator.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first 8 hex digits of SHA-256 over the secret's text, for views that must tell
    /// secrets apart without showing them. Hashing the text (not the key) lets SQL compute the
    /// same value: `left(encode(sha256(convert_to(secret, 'UTF8')), 'hex'), 8)`.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.text.as_bytes());
        digest[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.fingerprint())
    }
}

/// The secrets that sign a delivery: the current one and, during a rotation, the old one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningSecrets {
    pub current: Secret,
    pub previous: Option<Secret>,
}

impl SigningSecrets {
    /// One secret, no rotation in progress.
    pub fn single(current: Secret) -> SigningSecrets {
        SigningSecrets { current, previous: None }
    }
}

/// One Standard Webhooks v1 signature: `v1,<base64 HMAC-SHA256 over id.timestamp.body>`.
pub fn sign(secret: &Secret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret.key).expect("HMAC accepts any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value: the current secret's signature, then the old
/// secret's during a rotation, separated by a space as the spec asks.
pub fn signature_header(secrets: &SigningSecrets, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut header = sign(&secrets.current, msg_id, timestamp, body);
    if let Some(previous) = &secrets.previous {
        header.push(' ');
        header.push_str(&sign(previous, msg_id, timestamp, body));
    }
    header
}

/// A base64 error in words, pointing at the position without echoing the secret.
fn describe(error: DecodeError) -> String {
    match error {
        DecodeError::InvalidByte(offset, _) => format!("invalid character at position {}", offset + 1),
        DecodeError::InvalidLength(_) => "its length is not a valid base64 length".to_owned(),
        DecodeError::InvalidLastSymbol { offset, .. } => {
            format!("the character at position {} cannot end base64 text", offset + 1)
        }
        DecodeError::InvalidPadding => "misplaced = padding".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const SPEC_ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const SPEC_TS: i64 = 1649367553;
    const SPEC_BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
    const SPEC_SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn spec_secret() -> Secret {
        Secret::parse(SPEC_SECRET).unwrap()
    }

    #[test]
    fn reproduces_the_standard_webhooks_conformance_vector() {
        assert_eq!(sign(&spec_secret(), SPEC_ID, SPEC_TS, SPEC_BODY.as_bytes()), SPEC_SIGNATURE);
    }

    #[test]
    fn every_signed_part_changes_the_signature() {
        let secret = spec_secret();
        let body = SPEC_BODY.as_bytes();
        assert_ne!(sign(&secret, "msg_other", SPEC_TS, body), SPEC_SIGNATURE);
        assert_ne!(sign(&secret, SPEC_ID, SPEC_TS + 1, body), SPEC_SIGNATURE);
        assert_ne!(sign(&secret, SPEC_ID, SPEC_TS, b"{}"), SPEC_SIGNATURE);
        let other = Secret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_ne!(sign(&other, SPEC_ID, SPEC_TS, body), SPEC_SIGNATURE);
    }

    #[test]
    fn signs_with_the_decoded_key_not_the_text() {
        // Computed independently with Python's hmac over the key bytes 0..32.
        let secret = Secret::parse("whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_eq!(sign(&secret, "abc", 1, b"{}"), "v1,mGFPTJPntUHng08l8qEoTjR1BqGuBsA42qB28BZX1c4=");
    }

    #[test]
    fn header_has_one_signature_or_two_during_rotation() {
        let current = spec_secret();
        let previous = Secret::generate().unwrap();
        let body = SPEC_BODY.as_bytes();

        let single = signature_header(&SigningSecrets::single(current.clone()), SPEC_ID, SPEC_TS, body);
        assert_eq!(single, SPEC_SIGNATURE);

        let both = SigningSecrets { current, previous: Some(previous.clone()) };
        let header = signature_header(&both, SPEC_ID, SPEC_TS, body);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [SPEC_SIGNATURE, sign(&previous, SPEC_ID, SPEC_TS, body).as_str()]);
    }

    #[test]
    fn parses_secrets_with_or_without_padding() {
        assert_eq!(spec_secret().as_str(), SPEC_SECRET);
        let padded = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(Secret::parse(padded).unwrap().key, Secret::parse(unpadded).unwrap().key);
    }

    #[test]
    fn rejects_malformed_secrets_saying_what_is_wrong() {
        let cases = [
            ("C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "the secret must start with whsec_"),
            ("WHSEC_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "the secret must start with whsec_"),
            ("", "the secret must start with whsec_"),
            ("whsec_C2FVsBQIhrscChlQIMV-b5sSYspob7oD", "invalid character at position 20"),
            ("whsec_C2FVs", "must be standard base64: its length is not a valid base64 length"),
            ("whsec_ C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "invalid character at position 1"),
            ("whsec_", "decodes to 0 bytes; it must be 24 to 64 bytes"),
            ("whsec_c2VjcmV0", "decodes to 6 bytes; it must be 24 to 64 bytes"),
        ];
        for (text, expected) in cases {
            let message = Secret::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?}: {message:?} should contain {expected:?}");
        }
    }

    #[test]
    fn accepts_key_lengths_from_24_to_64_bytes_only() {
        for len in [23, 24, 64, 65] {
            let text = format!("whsec_{}", STANDARD.encode(vec![7u8; len]));
            let accepted = Secret::parse(&text).is_ok();
            assert_eq!(accepted, SECRET_BYTES.contains(&len), "{len} bytes");
        }
    }

    #[test]
    fn generated_secrets_are_32_random_bytes_in_whsec_form() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert!(a.as_str().starts_with("whsec_"));
        assert_eq!(a.key.len(), 32);
        assert_ne!(a, b);
        assert_eq!(Secret::parse(a.as_str()).unwrap(), a);
    }

    #[test]
    fn fingerprint_is_8_hex_digits_of_sha256_over_the_text() {
        // printf '%s' whsec_C2FV... | sha256sum  →  2dd745ff...
        assert_eq!(spec_secret().fingerprint(), "2dd745ff");
    }

    #[test]
    fn debug_shows_the_fingerprint_never_the_secret() {
        let shown = format!("{:?}", SigningSecrets::single(spec_secret()));
        assert!(shown.contains("2dd745ff"), "{shown}");
        assert!(!shown.contains("C2FVsBQ"), "{shown}");
    }
}
