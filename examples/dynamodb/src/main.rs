//! `{"id":"…"}` in: a DynamoDB `GetItem` on the table named by `$TABLE`, for the key `id`;
//! the item's attributes out as one JSON object (`{"id":"k1","name":"first order","qty":3}`).
//! A missing item is an error of type `ItemNotFound`. The contract of examples/aws-sdk, on
//! lambda-lite's blocking client: nothing is built in init; the first call reads the
//! environment (region, credentials, `AWS_ENDPOINT_URL`) and opens the connection it then
//! keeps for the next invocations.
//!
//! `cargo lambda-lite build --invoke '{"id":"k1"}' --env TABLE=orders --env AWS_ENDPOINT_URL=…`
use lambda_lite::aws::Client;
use lambda_lite::{Context, Error, lambda_main};
use serde::Deserialize;
use serde_json::{Map, Value, json};

static AWS: Client = Client::new();

#[derive(Deserialize)]
struct Request<'a> {
    id: &'a str,
}

fn handler(request: Request<'_>, ctx: &Context) -> Result<Map<String, Value>, Error> {
    let table = std::env::var("TABLE").map_err(|_| Error::new("ConfigInvalid", "TABLE is not set"))?;
    AWS.dynamodb()
        .get_item(&table, &json!({ "id": request.id }), ctx)?
        .ok_or_else(|| Error::new("ItemNotFound", format!("no item {} in {table}", request.id)))
}

lambda_main!(json handler);
