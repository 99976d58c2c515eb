//! examples/aws-sdk (DynamoDB GetItem through the AWS SDK for Rust, on lambda-lite) built with
//! the tool and invoked locally against moto's DynamoDB on 127.0.0.1, with the table and item
//! created by the test. Installs `moto[server]` with pip if it is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may fail loudly

#[path = "support/moto.rs"]
mod moto;

#[test]
fn get_item_against_moto_through_the_local_runtime_api() {
    let moto = moto::Moto::start();
    moto::create_orders_table(&moto, "us-east-1");
    let env = [
        ("TABLE", "orders".to_owned()),
        ("AWS_ENDPOINT_URL", moto.url()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_SESSION_TOKEN", "test-session".to_owned()),
    ];
    moto::assert_get_item_contract(&moto::invoke_get_item("aws-sdk", &env, &[]));
}
