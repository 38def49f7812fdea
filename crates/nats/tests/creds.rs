//! Credentials files (a user JWT and its nkey seed) against a real
//! nats-server in operator mode, its accounts preloaded into a memory
//! resolver (see `common`): the JWTs are minted here with nkeys, so the
//! test needs no `nsc`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Auth, Server, jwt, run};
use nimsync_nats::{Client, ConnectOptions, ErrorKind, SinkOptions, StreamSpec, SubscribeOptions};
use nkeys::KeyPair;

const LIMIT: Duration = Duration::from_secs(60);

/// Writes a `.creds` file for a new user of `account`; returns the user's
/// seed (to check it never shows) and the user's JWT.
fn write_creds(path: &Path, account: &KeyPair, name: &str) -> (String, String) {
    let user = KeyPair::new_user();
    let user_jwt = jwt::user(account, &user, name);
    std::fs::write(path, jwt::creds(&user_jwt, &user)).expect("the creds file");
    (user.seed().expect("a user seed"), user_jwt)
}

#[test]
fn a_creds_file_user_gets_in_and_others_do_not() {
    let operator = KeyPair::new_operator();
    let system = KeyPair::new_account();
    let app = KeyPair::new_account();
    let unknown = KeyPair::new_account();
    let auth = Auth::Operator {
        operator_jwt: jwt::operator(&operator),
        system_account: system.public_key(),
        accounts: vec![
            (
                system.public_key(),
                jwt::account(&operator, &system, "SYS", false),
            ),
            (app.public_key(), jwt::account(&operator, &app, "APP", true)),
        ],
    };
    let Some(server) = Server::start_with("auth_creds", auth) else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("nimsync-nats-creds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory for the creds files");
    let good = dir.join("app-user.creds");
    let (seed, user_jwt) = write_creds(&good, &app, "app-user");
    // A user signed by an account the server does not know.
    let stranger = dir.join("stranger.creds");
    write_creds(&stranger, &unknown, "stranger");
    // A user whose JWT claims the app account but is signed by another key.
    let forged = dir.join("forged.creds");
    let forger = KeyPair::new_user();
    let forged_jwt = jwt::forged_user(&app, &unknown, &forger, "forged");
    std::fs::write(&forged, jwt::creds(&forged_jwt, &forger)).expect("the forged creds");
    let missing = dir.join("missing.creds");
    let url = server.url();
    run("auth_creds", LIMIT, async move {
        for (what, opts) in [
            ("no credentials", ConnectOptions::new(url.clone())),
            (
                "an unknown account's user",
                ConnectOptions::new(url.clone()).credentials_file(&stranger),
            ),
            (
                "a JWT not signed by its account",
                ConnectOptions::new(url.clone()).credentials_file(&forged),
            ),
        ] {
            let err = Client::connect(opts).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotAuthorized, "{what}: {err}");
        }
        let err = Client::connect(ConnectOptions::new(url.clone()).credentials_file(&missing))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadCredentials, "{err}");
        assert!(
            err.to_string().contains("missing.creds"),
            "names the file: {err}"
        );

        let opts = ConnectOptions::new(url).credentials_file(&good);
        let client = Client::connect(opts.clone()).await.unwrap();
        for shown in [format!("{opts:?}"), format!("{client:?}")] {
            assert!(!shown.contains(&seed), "the seed shows: {shown}");
            assert!(!shown.contains(&user_jwt), "the JWT shows: {shown}");
        }
        let mut sub = client
            .subscribe("t.creds", SubscribeOptions::default())
            .await
            .unwrap();
        client.publish("t.creds", "signed in").await.unwrap();
        client.flush().await.unwrap();
        let got = futures_lite::StreamExt::next(&mut sub).await.unwrap();
        assert_eq!(got.payload, "signed in".as_bytes());
        // The account's JWT enables JetStream for its users.
        let js = client.jetstream();
        js.create_stream(&StreamSpec::new("CREDS", ["creds.>"]))
            .await
            .unwrap();
        let sink = js.sink("creds.a", SinkOptions::new(8));
        sink.send(nimsync_nats::Record::new("kept")).await.unwrap();
        assert_eq!(sink.flush().await.unwrap().acked, 1);
        assert_eq!(js.stream_messages("CREDS").await.unwrap(), 1);
    });
    let _ = std::fs::remove_dir_all(&dir);
}
