//! `{"id":"…"}` in: a DynamoDB GetItem on $TABLE for the key `id`; the item as JSON out.
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
struct Request {
    id: String,
}

fn json(value: AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => Value::String(s),
        AttributeValue::N(n) => n.parse::<serde_json::Number>().map_or(Value::String(n), Value::Number),
        AttributeValue::Bool(b) => Value::Bool(b),
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::L(list) => Value::Array(list.into_iter().map(json).collect()),
        AttributeValue::M(map) => Value::Object(map.into_iter().map(|(k, v)| (k, json(v))).collect()),
        other => Value::String(format!("{other:?}")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let table = std::env::var("TABLE")?;
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let (client, table) = (&client, &table);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Request>| async move {
        let out = client
            .get_item()
            .table_name(table)
            .key("id", AttributeValue::S(event.payload.id.clone()))
            .send()
            .await?;
        let item = out.item.ok_or_else(|| format!("no item {}", event.payload.id))?;
        Ok::<Map<String, Value>, Error>(item.into_iter().map(|(k, v)| (k, json(v))).collect())
    }))
    .await
}
