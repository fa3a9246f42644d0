//! Google's OAuth token endpoint for service accounts: a JWT-bearer grant whose RS256
//! signature is checked against the sandbox service account's public key.
//!
//! The key pair is committed (`crates/sandbox/keys/`): it is a test key that opens
//! nothing but this sandbox, so a key file can be handed to the real yup-oauth2 client
//! without generating RSA keys at run time (slow unoptimised, and the `rsa` crate has an
//! open timing advisory, RUSTSEC-2023-0071). Verification uses `ring`, which rustls
//! already brings in.

use std::sync::OnceLock;

use base64::Engine as _;
use ring::signature::{self, KeyPair as _, RsaKeyPair};
use serde_json::Value;

/// The sandbox service account's e-mail.
pub const CLIENT_EMAIL: &str = "clanhall-sandbox@clanhall-sandbox.iam.gserviceaccount.com";

/// The sandbox service account's private key (PKCS#8 PEM). Not a secret: it is only
/// trusted by this sandbox.
pub const SERVICE_ACCOUNT_KEY_PEM: &str = include_str!("../../keys/service-account.pem");

/// A second key the sandbox does not trust, for tests that prove a forged assertion is
/// refused.
pub const UNTRUSTED_KEY_PEM: &str = include_str!("../../keys/untrusted.pem");

/// The DER bytes inside a PEM block.
pub(crate) fn pem_to_der(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// The public half of the sandbox key (PKCS#1 `RSAPublicKey` DER), parsed once.
fn public_key() -> Option<&'static [u8]> {
    static KEY: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    KEY.get_or_init(|| {
        let der = pem_to_der(SERVICE_ACCOUNT_KEY_PEM)?;
        let pair = RsaKeyPair::from_pkcs8(&der).ok()?;
        Some(pair.public_key().as_ref().to_vec())
    })
    .as_deref()
}

/// Verifies a JWT bearer assertion for `token_uri` at `now` (UNIX seconds); returns why
/// it is not acceptable, in Google's words where Google has them.
pub fn verify_assertion(assertion: &str, token_uri: &str, now: i64) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, sig] = parts.as_slice() else {
        return Err("the assertion is not a JWT".into());
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let decode = |p: &str| {
        b64.decode(p.trim_end_matches('='))
            .map_err(|_| "the assertion is not base64url".to_owned())
    };
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "bad JWT header")?;
    if header["alg"] != "RS256" {
        return Err(format!("unsupported algorithm {}", header["alg"]));
    }
    let public = public_key().ok_or("the sandbox service-account key does not parse")?;
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &decode(sig)?,
        )
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).map_err(|_| "bad JWT claims")?;
    if claims["iss"] != CLIENT_EMAIL {
        return Err(format!("unknown issuer {}", claims["iss"]));
    }
    if claims["aud"] != token_uri {
        return Err(format!("audience {} is not {token_uri}", claims["aud"]));
    }
    if claims["scope"].as_str().is_none_or(str::is_empty) {
        return Err("no scope requested".into());
    }
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap_or(0),
        claims["exp"].as_i64().unwrap_or(0),
    );
    if exp <= now || iat > now + 300 || exp - iat > 3600 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An RS256 JWT over `claims`, signed with `pem`.
    fn jwt(pem: &str, claims: &Value) -> String {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let unsigned = format!(
            "{}.{}",
            b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            b64.encode(claims.to_string())
        );
        let pair = RsaKeyPair::from_pkcs8(&pem_to_der(pem).unwrap()).unwrap();
        let mut sig = vec![0; pair.public().modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            unsigned.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{unsigned}.{}", b64.encode(sig))
    }

    #[test]
    fn only_assertions_signed_by_the_sandbox_key_for_its_audience_and_time_pass() {
        let now = 1_800_000_000;
        let claims = json!({"iss": CLIENT_EMAIL, "aud": "http://x/token", "scope": "s", "iat": now, "exp": now + 3600});
        let signed = jwt(SERVICE_ACCOUNT_KEY_PEM, &claims);
        assert_eq!(verify_assertion(&signed, "http://x/token", now), Ok(()));
        assert!(verify_assertion(&signed, "http://y/token", now).is_err());
        assert!(verify_assertion(&signed, "http://x/token", now + 7200).is_err());
        assert_eq!(
            verify_assertion(&jwt(UNTRUSTED_KEY_PEM, &claims), "http://x/token", now),
            Err("Invalid JWT Signature.".into())
        );
        let mut tampered = signed.clone();
        tampered.replace_range(signed.len() - 4.., "AAAA");
        assert_eq!(
            verify_assertion(&tampered, "http://x/token", now),
            Err("Invalid JWT Signature.".into())
        );
        assert!(verify_assertion("not-a-jwt", "http://x/token", now).is_err());
        let wrong_issuer = json!({"iss": "someone@else", "aud": "http://x/token", "scope": "s", "iat": now, "exp": now + 3600});
        assert!(
            verify_assertion(
                &jwt(SERVICE_ACCOUNT_KEY_PEM, &wrong_issuer),
                "http://x/token",
                now
            )
            .unwrap_err()
            .contains("unknown issuer")
        );
    }
}
