//! NATS JWTs minted in the test itself, for a server in operator mode: an
//! operator signs accounts, an account signs its users, each JWT signed
//! with the issuer's nkey (ed25519), as `nsc` would write them.
//!
//! Format: `base64url(header) "." base64url(claims) "." base64url(sig)`,
//! the header `{"typ":"JWT","alg":"ed25519-nkey"}`, the signature over the
//! first two parts. The claims carry `iss` (the signer's public key), `sub`
//! (the subject's), `iat`, `jti` (the base32 SHA-256 of the claims with an
//! empty `jti`) and a `nats` object that says what kind of subject it is.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use nkeys::KeyPair;
use sha2::{Digest, Sha256};

/// Signs `nats` claims about `subject`, issued by `issuer`.
fn mint(issuer: &KeyPair, subject: &str, name: &str, nats: &str) -> String {
    mint_as(issuer, &issuer.public_key(), subject, name, nats)
}

/// Claims issued in the name of `iss`, signed by `signer` (a forgery unless
/// `signer` is `iss`'s key).
fn mint_as(signer: &KeyPair, iss: &str, subject: &str, name: &str, nats: &str) -> String {
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    let claims = |jti: &str| {
        format!(
            r#"{{"jti":"{jti}","iat":{iat},"iss":"{iss}","name":"{name}","sub":"{subject}","nats":{nats}}}"#
        )
    };
    let digest = Sha256::digest(claims("").as_bytes());
    let jti = data_encoding::BASE32_NOPAD.encode(&digest);
    let header = B64.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = B64.encode(claims(&jti));
    let signed = format!("{header}.{body}");
    let sig = signer
        .sign(signed.as_bytes())
        .expect("an nkey with a seed signs");
    format!("{signed}.{}", B64.encode(sig))
}

/// The operator's own JWT (self-signed).
pub fn operator(op: &KeyPair) -> String {
    mint(
        op,
        &op.public_key(),
        "test-operator",
        r#"{"type":"operator","version":2}"#,
    )
}

/// An account's JWT, signed by the operator, with no limits; `jetstream`:
/// with unlimited JetStream storage (the system account may not have it).
pub fn account(op: &KeyPair, account: &KeyPair, name: &str, jetstream: bool) -> String {
    let storage = if jetstream {
        r#","mem_storage":-1,"disk_storage":-1,"streams":-1,"consumer":-1"#
    } else {
        ""
    };
    let nats = format!(
        r#"{{"limits":{{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1{storage}}},"default_permissions":{{"pub":{{}},"sub":{{}}}},"type":"account","version":2}}"#
    );
    mint(op, &account.public_key(), name, &nats)
}

/// A user's claims: allowed to publish and subscribe everywhere.
const USER: &str =
    r#"{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}"#;

/// A user's JWT, signed by its account.
pub fn user(account: &KeyPair, user: &KeyPair, name: &str) -> String {
    mint(account, &user.public_key(), name, USER)
}

/// A user's JWT that names `account` as its issuer but is signed by
/// `signer`.
pub fn forged_user(account: &KeyPair, signer: &KeyPair, user: &KeyPair, name: &str) -> String {
    mint_as(
        signer,
        &account.public_key(),
        &user.public_key(),
        name,
        USER,
    )
}

/// A `.creds` file's text: the user's JWT and nkey seed, decorated as
/// `nsc` writes them.
pub fn creds(user_jwt: &str, user: &KeyPair) -> String {
    let seed = user.seed().expect("a generated user key has a seed");
    format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"
    )
}
