//! The merchant's UCP signing key (ECDSA P-256): generated when the door opens,
//! kept sealed in the store, published as a JWK in the merchant's profile, and
//! used to sign order webhooks.

use crate::error::{CheckoutError, CheckoutResult};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};

/// Length of an uncompressed P-256 point: `0x04 ‖ x ‖ y`.
const P256_POINT_LEN: usize = 65;

/// A merchant's signing key.
pub struct SigningKey {
    kid: String,
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid)
    }
}

/// A new key: its id and PKCS#8 in base64 (what the store seals).
pub fn generate(now_ms: i64) -> CheckoutResult<(String, String)> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|_| CheckoutError::invalid("$", "could not generate a signing key"))?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| CheckoutError::invalid("$", "could not encode a signing key"))?;
    let mut suffix = [0u8; 4];
    aws_lc_rs::rand::fill(&mut suffix)
        .map_err(|_| CheckoutError::invalid("$", "no randomness for a key id"))?;
    let kid = format!("anycart-{}-{}", now_ms / 1000, hex::encode(suffix));
    Ok((kid, B64.encode(pkcs8.as_ref())))
}

impl SigningKey {
    /// The key stored as PKCS#8 in base64.
    pub fn from_pkcs8_base64(kid: &str, encoded: &str) -> CheckoutResult<SigningKey> {
        let corrupt = || {
            CheckoutError::Store(anycart_store::StoreError::Corrupt(
                "the UCP signing key does not load".into(),
            ))
        };
        let der = B64.decode(encoded.trim()).map_err(|_| corrupt())?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|_| corrupt())?;
        Ok(SigningKey {
            kid: kid.to_string(),
            pair,
        })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK (what profiles publish in `signing_keys`).
    pub fn jwk(&self) -> serde_json::Value {
        let point = self.pair.public_key().as_ref();
        debug_assert_eq!(point.len(), P256_POINT_LEN);
        let (x, y) = point
            .get(1..P256_POINT_LEN)
            .map_or((&[][..], &[][..]), |xy| xy.split_at(32));
        serde_json::json!({
            "kid": self.kid,
            "kty": "EC",
            "crv": "P-256",
            "x": B64URL.encode(x),
            "y": B64URL.encode(y),
            "use": "sig",
            "alg": "ES256",
        })
    }

    /// ES256 over `message`: 64 bytes, `r ‖ s` (not DER), as RFC 9421 and JWS use.
    pub fn sign(&self, message: &[u8]) -> CheckoutResult<Vec<u8>> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| CheckoutError::invalid("$", "signing failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_loads_signs_and_publishes_its_point() {
        let (kid, pkcs8) = generate(1_700_000_000_000).unwrap();
        assert!(kid.starts_with("anycart-1700000000-"));
        let key = SigningKey::from_pkcs8_base64(&kid, &pkcs8).unwrap();
        let jwk = key.jwk();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["kid"], kid.as_str());
        let x = B64URL.decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = B64URL.decode(jwk["y"].as_str().unwrap()).unwrap();
        assert_eq!((x.len(), y.len()), (32, 32));
        let sig = key.sign(b"hello").unwrap();
        assert_eq!(sig.len(), 64);
        let mut point = vec![4u8];
        point.extend(x);
        point.extend(y);
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            point,
        )
        .verify(b"hello", &sig)
        .unwrap();
        assert!(SigningKey::from_pkcs8_base64("k", "bm90IGEga2V5").is_err());
    }
}
