//! `{"id":"…"}` in: a DynamoDB `GetItem` on the table named by `$TABLE`, for the key `id`;
//! the item's attributes out as one JSON object (`{"id":"k1","name":"first order"}`). A
//! missing item is an error of type `ItemNotFound`.
//!
//! The pattern for an async SDK on a blocking runtime: build the client and a current-thread
//! tokio runtime once, in init (so their cost is paid once, in `Init Duration`), and block on
//! each call in the handler. The SDK's standard environment applies: the region, the
//! credentials Lambda sets, `AWS_ENDPOINT_URL` (a local DynamoDB, moto). Several calls in one
//! invocation run at once inside one `block_on` (`tokio::join!` or `futures::join_all`).
//!
//! `cargo lambda-lite build --invoke '{"id":"k1"}' --env TABLE=orders --env AWS_ENDPOINT_URL=…`
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_lite::{Context, Error, lambda_main};
use serde::Deserialize;
use serde_json::{Map, Value};

struct State {
    tokio: tokio::runtime::Runtime,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

fn setup() -> Result<State, Error> {
    let table = std::env::var("TABLE").map_err(|_| Error::new("ConfigInvalid", "TABLE is not set"))?;
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let config = tokio.block_on(aws_config::load_defaults(aws_config::BehaviorVersion::latest()));
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    Ok(State { tokio, dynamodb, table })
}

#[derive(Deserialize)]
struct Request<'a> {
    id: &'a str,
}

fn handler(state: &mut State, request: Request<'_>, _ctx: &Context) -> Result<Map<String, Value>, Error> {
    let call = state
        .dynamodb
        .get_item()
        .table_name(&state.table)
        .key("id", AttributeValue::S(request.id.to_owned()))
        .send();
    let output = state.tokio.block_on(call)?;
    let item = output
        .item
        .ok_or_else(|| Error::new("ItemNotFound", format!("no item {} in {}", request.id, state.table)))?;
    Ok(item.into_iter().map(|(k, v)| (k, json(v))).collect())
}

/// A DynamoDB attribute as plain JSON.
fn json(value: AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s),
        AttributeValue::N(n) => n.parse::<serde_json::Number>().map_or(Value::String(n), Value::Number),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(list) => Value::Array(list.into_iter().map(json).collect()),
        AttributeValue::M(map) => Value::Object(map.into_iter().map(|(k, v)| (k, json(v))).collect()),
        AttributeValue::Ss(set) => Value::Array(set.into_iter().map(Value::String).collect()),
        AttributeValue::Ns(set) => Value::Array(set.into_iter().map(|n| json(AttributeValue::N(n))).collect()),
        other => Value::String(format!("{other:?}")),
    }
}

lambda_main!(json init = setup, handler = handler);
