//! RSA signing keys for Security Event Tokens (spec 4.4): RSA-2048, RS256, `kid` = the RFC 7638
//! thumbprint, published in the JWKS.
//!
//! `ring` does the signing (constant time, blinded; already in the binary as rustls' provider)
//! but cannot generate RSA keys, so `rsa` 0.10 generates them, once per `rotate`. `rsa` before
//! 0.10 is covered by RUSTSEC-2023-0071 (timing leak in private-key operations); here it never
//! signs, and 0.10 replaced the leaky arithmetic anyway.
//!
//! The store keeps the PKCS#8 DER from [`generate_pkcs8`]; [`SigningKey::from_pkcs8`] loads it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use rsa::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::fmt;

/// The size of every key ztrisk makes: what Okta accepts and RFC 7518 requires at least.
pub const KEY_BITS: usize = 2048;

/// What went wrong with a key. The texts name the step, never key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate an RSA key: {0}")]
    Generate(String),
    #[error("could not encode the RSA key as PKCS#8: {0}")]
    Encode(String),
    /// ring refused the bytes: not PKCS#8 v1 RSA, too short, inconsistent...
    #[error("not a usable RSA signing key: {0}")]
    Rejected(String),
    #[error("could not sign: {0}")]
    Sign(String),
}

/// A fresh RSA-2048 private key as PKCS#8 (v1) DER: what the store keeps. Takes about 0.1 s.
pub fn generate_pkcs8() -> Result<Vec<u8>, KeyError> {
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, KEY_BITS)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    Ok(der.as_bytes().to_vec())
}

/// A loaded signing key: ring's key pair plus its public JWK members, computed once.
pub struct SigningKey {
    pair: RsaKeyPair,
    kid: String,
    /// Modulus and exponent, base64url without padding (big-endian, no leading zeros).
    n: String,
    e: String,
}

impl SigningKey {
    /// Loads a PKCS#8 DER key (as [`generate_pkcs8`] makes) and computes its `kid`.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| KeyError::Rejected(e.to_string()))?;
        let public: RsaPublicKeyComponents<Vec<u8>> = pair.public().into();
        let (n, e) = (B64URL.encode(&public.n), B64URL.encode(&public.e));
        let kid = thumbprint(&n, &e);
        Ok(Self { pair, kid, n, e })
    }

    /// The key id: its RFC 7638 thumbprint, so the same key always has the same id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, as the JWKS lists it.
    pub fn jwk(&self) -> Value {
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e})
    }

    /// A compact JWS (RS256) of `claims`, with header `{"alg":"RS256","typ":typ,"kid":kid}`.
    /// SETs use `typ` `secevent+jwt` (RFC 8417, SSF 1.0 section 4.1).
    pub fn sign_jws(&self, typ: &str, claims: &Value) -> Result<String, KeyError> {
        let header = json!({"alg": "RS256", "typ": typ, "kid": self.kid});
        let input = format!("{}.{}", b64url_json(&header)?, b64url_json(claims)?);
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|e| KeyError::Sign(e.to_string()))?;
        Ok(format!("{input}.{}", B64URL.encode(signature)))
    }
}

/// Only the kid: the private key must never reach a log (spec 4.4).
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// The JWKS document (`/.well-known/jwks.json`): every key that signs or may still be verifying.
pub fn jwks(keys: &[&SigningKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace. The
/// members are base64url text, which needs no JSON escaping, so formatting is exact.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    B64URL.encode(Sha256::digest(canonical.as_bytes()))
}

fn b64url_json(value: &Value) -> Result<String, KeyError> {
    let bytes = serde_json::to_vec(value).map_err(|e| KeyError::Sign(e.to_string()))?;
    Ok(B64URL.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::RSA_PKCS1_2048_8192_SHA256;
    use std::collections::BTreeMap;
    use std::sync::OnceLock;

    /// One generated key for the whole module: keygen costs ~0.1 s at opt-level 1.
    fn der() -> &'static [u8] {
        static DER: OnceLock<Vec<u8>> = OnceLock::new();
        DER.get_or_init(|| generate_pkcs8().unwrap())
    }

    fn key() -> SigningKey {
        SigningKey::from_pkcs8(der()).unwrap()
    }

    fn decode_segment(segment: &str) -> Value {
        serde_json::from_slice(&B64URL.decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn generated_keys_are_rsa_2048_that_ring_loads() {
        let key = key();
        assert_eq!(key.pair.public().modulus_len(), KEY_BITS / 8);
        assert_eq!(key.e, "AQAB", "exponent 65537");
    }

    #[test]
    fn a_signed_jws_verifies_with_the_jwk_public_key() {
        let key = key();
        let claims = json!({"iss": "https://ztrisk.example/x", "jti": "00ff", "iat": 1767225600});
        let jws = key.sign_jws("secevent+jwt", &claims).unwrap();

        let parts: Vec<&str> = jws.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_segment(parts[0]),
            json!({"alg": "RS256", "typ": "secevent+jwt", "kid": key.kid()})
        );
        assert_eq!(decode_segment(parts[1]), claims);

        let jwk = key.jwk();
        let public = RsaPublicKeyComponents {
            n: B64URL.decode(jwk["n"].as_str().unwrap()).unwrap(),
            e: B64URL.decode(jwk["e"].as_str().unwrap()).unwrap(),
        };
        let input = format!("{}.{}", parts[0], parts[1]);
        let signature = B64URL.decode(parts[2]).unwrap();
        public
            .verify(&RSA_PKCS1_2048_8192_SHA256, input.as_bytes(), &signature)
            .unwrap();
        // A changed payload does not verify.
        let tampered = format!("{}.{}", parts[0], B64URL.encode(b"{}"));
        assert!(
            public
                .verify(&RSA_PKCS1_2048_8192_SHA256, tampered.as_bytes(), &signature)
                .is_err()
        );
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        let key = key();
        let jwk = key.jwk();
        // Independently: serde_json with a BTreeMap sorts the members and adds no whitespace.
        let required: BTreeMap<&str, &str> = [
            ("kty", "RSA"),
            ("n", jwk["n"].as_str().unwrap()),
            ("e", jwk["e"].as_str().unwrap()),
        ]
        .into();
        let digest = Sha256::digest(serde_json::to_vec(&required).unwrap());
        assert_eq!(key.kid(), B64URL.encode(digest));
        assert_eq!(key.kid().len(), 43, "32 bytes, base64url without padding");
        // The same key loaded again has the same kid.
        assert_eq!(SigningKey::from_pkcs8(der()).unwrap().kid(), key.kid());
    }

    #[test]
    fn rfc_7638_example_thumbprint() {
        // RFC 7638 section 3.1: the example RSA key and its thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn the_jwk_and_jwks_have_the_published_members_only() {
        let key = key();
        let jwk = key.jwk();
        let mut members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        members.sort_unstable();
        assert_eq!(members, ["alg", "e", "kid", "kty", "n", "use"]);
        assert_eq!(jwk["kty"], "RSA");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwks(&[&key, &key]), json!({"keys": [jwk, jwk]}));
        assert_eq!(jwks(&[]), json!({"keys": []}));
    }

    #[test]
    fn debug_shows_the_kid_and_no_key_material() {
        let key = key();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.kid()), "{shown}");
        assert!(!shown.contains(&key.n[..40]), "{shown}");
        assert!(shown.len() < 100, "{shown}");
    }

    #[test]
    fn garbage_is_rejected_without_echoing_it() {
        let err = SigningKey::from_pkcs8(b"secret-looking bytes").unwrap_err();
        assert!(matches!(err, KeyError::Rejected(_)));
        assert!(!err.to_string().contains("secret-looking"));
        // A truncated real key is refused as well.
        assert!(SigningKey::from_pkcs8(&der()[..der().len() / 2]).is_err());
    }
}
