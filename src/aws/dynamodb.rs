//! DynamoDB's most used calls with items mapped to and from Rust types: a `Serialize` value
//! is written as attribute values (`{"S":…}`, `{"N":…}`, `{"M":…}`…), an item read back is
//! deserialized by [`Item::to`](crate::events::Item::to) (strings borrowed while it reads,
//! numbers parsed to the field's type).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{AwsError, Client, Deadline, Service};
use crate::events::Item;
use crate::json::read::from_object;

/// DynamoDB's typed calls ([`Client::dynamodb`]). Anything else: [`Client::call_json`] with
/// [`Service::DYNAMODB`] and the operation's documented JSON.
#[derive(Clone, Copy)]
pub struct DynamoDb<'c> {
    pub(crate) client: &'c Client,
}

/// An expression (a condition, an update, a key condition) with its placeholders:
/// `:value`s given as any `Serialize` value, `#name`s as attribute names.
///
/// ```
/// use lambda_lite::aws::Expression;
/// let update = Expression::new("SET #n = :n, qty = qty + :one")
///     .name("#n", "name")
///     .value(":n", "second order")
///     .value(":one", 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Expression<'a> {
    text: &'a str,
    names: Map<String, Value>,
    values: Map<String, Value>,
    error: Option<String>,
}

impl<'a> Expression<'a> {
    /// An expression in DynamoDB's syntax.
    pub fn new(text: &'a str) -> Expression<'a> {
        Expression {
            text,
            ..Expression::default()
        }
    }

    /// Gives the placeholder `:placeholder` its value.
    pub fn value(mut self, placeholder: &str, value: impl Serialize) -> Expression<'a> {
        match serde_json::to_value(value) {
            Ok(v) => {
                self.values.insert(placeholder.to_owned(), attribute(v));
            }
            Err(e) => self.error = Some(format!("{placeholder}: {e}")),
        }
        self
    }

    /// Gives the placeholder `#placeholder` the attribute name `name` (for reserved words).
    pub fn name(mut self, placeholder: &str, name: &str) -> Expression<'a> {
        self.names
            .insert(placeholder.to_owned(), Value::String(name.to_owned()));
        self
    }

    /// Adds the expression's placeholders to a request, under `key` for its text.
    fn add_to(self, request: &mut Map<String, Value>, key: &str) -> Result<(), AwsError> {
        if let Some(error) = self.error {
            return Err(AwsError::client("SerializationError", error));
        }
        request.insert(key.to_owned(), Value::String(self.text.to_owned()));
        merge(request, "ExpressionAttributeNames", self.names);
        merge(request, "ExpressionAttributeValues", self.values);
        Ok(())
    }
}

fn merge(request: &mut Map<String, Value>, key: &str, more: Map<String, Value>) {
    if more.is_empty() {
        return;
    }
    if let Value::Object(existing) = request
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
    {
        existing.extend(more);
    }
}

#[derive(Default)]
struct GetItemOutput<'a> {
    item: Option<Item<'a>>,
}
from_object!(GetItemOutput { "Item" => item });

#[derive(Default)]
struct ItemsOutput<'a> {
    items: Vec<Item<'a>>,
    attributes: Option<Item<'a>>,
    last_evaluated_key: Option<serde_json::Value>,
}
from_object!(ItemsOutput { "Items" => items, "Attributes" => attributes, "LastEvaluatedKey" => last_evaluated_key });

impl DynamoDb<'_> {
    /// `GetItem`: the item with this key (any `Serialize` value with the key's attributes),
    /// as a `T`; `None` if there is none.
    pub fn get_item<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &impl Serialize,
        deadline: impl Into<Deadline>,
    ) -> Result<Option<T>, AwsError> {
        let mut request = Map::new();
        request.insert("TableName".into(), table.into());
        request.insert("Key".into(), item(key)?);
        let output = self.call("GetItem", &request, deadline.into())?;
        let output: GetItemOutput<'_> = read(&output)?;
        output.item.map(|item| to(&item)).transpose()
    }

    /// `PutItem`: writes `item` (any `Serialize` value that is an object), replacing the item
    /// with its key.
    pub fn put_item(
        &self,
        table: &str,
        item: &impl Serialize,
        deadline: impl Into<Deadline>,
    ) -> Result<(), AwsError> {
        self.put(table, item, None, deadline.into())
    }

    /// `PutItem` with a `ConditionExpression`: a failed condition is the error
    /// `ConditionalCheckFailedException`.
    pub fn put_item_if(
        &self,
        table: &str,
        item: &impl Serialize,
        condition: Expression<'_>,
        deadline: impl Into<Deadline>,
    ) -> Result<(), AwsError> {
        self.put(table, item, Some(condition), deadline.into())
    }

    fn put(
        &self,
        table: &str,
        value: &impl Serialize,
        condition: Option<Expression<'_>>,
        deadline: Deadline,
    ) -> Result<(), AwsError> {
        let mut request = Map::new();
        request.insert("TableName".into(), table.into());
        request.insert("Item".into(), item(value)?);
        if let Some(condition) = condition {
            condition.add_to(&mut request, "ConditionExpression")?;
        }
        self.call("PutItem", &request, deadline).map(drop)
    }

    /// `UpdateItem`: applies `update` (`SET …`, `ADD …`, `REMOVE …`) to the item with this key,
    /// if `condition` (when given; its placeholders beside `update`'s) holds, and returns the
    /// item as it is after the update.
    pub fn update_item<T: DeserializeOwned>(
        &self,
        table: &str,
        key: &impl Serialize,
        update: Expression<'_>,
        condition: Option<Expression<'_>>,
        deadline: impl Into<Deadline>,
    ) -> Result<T, AwsError> {
        let mut request = Map::new();
        request.insert("TableName".into(), table.into());
        request.insert("Key".into(), item(key)?);
        request.insert("ReturnValues".into(), "ALL_NEW".into());
        update.add_to(&mut request, "UpdateExpression")?;
        if let Some(condition) = condition {
            condition.add_to(&mut request, "ConditionExpression")?;
        }
        let output = self.call("UpdateItem", &request, deadline.into())?;
        let output: ItemsOutput<'_> = read(&output)?;
        to(&output.attributes.unwrap_or_default())
    }

    /// `Query`: every item whose key matches `key_condition` (on the table, or on the index
    /// `index`), in key order, following `LastEvaluatedKey` page after page before the
    /// deadline.
    pub fn query<T: DeserializeOwned>(
        &self,
        table: &str,
        index: Option<&str>,
        key_condition: Expression<'_>,
        deadline: impl Into<Deadline>,
    ) -> Result<Vec<T>, AwsError> {
        let deadline = deadline.into();
        let mut request = Map::new();
        request.insert("TableName".into(), table.into());
        if let Some(index) = index {
            request.insert("IndexName".into(), index.into());
        }
        key_condition.add_to(&mut request, "KeyConditionExpression")?;
        let mut items = Vec::new();
        loop {
            let output = self.call("Query", &request, deadline)?;
            let output: ItemsOutput<'_> = read(&output)?;
            for item in &output.items {
                items.push(to(item)?);
            }
            match output.last_evaluated_key {
                Some(key) => {
                    request.insert("ExclusiveStartKey".into(), key);
                }
                None => return Ok(items),
            }
        }
    }

    fn call(
        &self,
        operation: &str,
        request: &Map<String, Value>,
        deadline: Deadline,
    ) -> Result<Vec<u8>, AwsError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| AwsError::client("SerializationError", e.to_string()))?;
        self.client
            .call_json(&Service::DYNAMODB, operation, &body, deadline)
    }
}

fn read<'a, T: serde::Deserialize<'a>>(output: &'a [u8]) -> Result<T, AwsError> {
    serde_json::from_slice(output).map_err(|e| super::invalid_response(&Service::DYNAMODB, &e))
}

fn to<T: DeserializeOwned>(item: &Item<'_>) -> Result<T, AwsError> {
    item.to()
        .map_err(|e| AwsError::client("DeserializationError", e.message()).in_service("dynamodb"))
}

/// A `Serialize` value that must be an object, as an item's attribute map.
fn item(value: &impl Serialize) -> Result<Value, AwsError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(Value::Object(
            map.into_iter().map(|(k, v)| (k, attribute(v))).collect(),
        )),
        Ok(other) => Err(AwsError::client(
            "SerializationError",
            format!("an item or key is an object with attributes, not {other}"),
        )),
        Err(e) => Err(AwsError::client("SerializationError", e.to_string())),
    }
}

/// A JSON value as a DynamoDB attribute value.
fn attribute(value: Value) -> Value {
    let (tag, inner) = match value {
        Value::Null => ("NULL", Value::Bool(true)),
        Value::Bool(b) => ("BOOL", Value::Bool(b)),
        Value::Number(n) => ("N", Value::String(n.to_string())),
        Value::String(s) => ("S", Value::String(s)),
        Value::Array(list) => ("L", Value::Array(list.into_iter().map(attribute).collect())),
        Value::Object(map) => (
            "M",
            Value::Object(map.into_iter().map(|(k, v)| (k, attribute(v))).collect()),
        ),
    };
    let mut out = Map::with_capacity(1);
    out.insert(tag.to_owned(), inner);
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    #[test]
    fn values_become_attribute_values() {
        let item = super::item(&json!({"id": "k1", "qty": 3, "price": 2.5, "ok": true, "none": null, "tags": ["a", 1], "m": {"x": "y"}})).unwrap();
        assert_eq!(
            item,
            json!({"id": {"S": "k1"}, "qty": {"N": "3"}, "price": {"N": "2.5"}, "ok": {"BOOL": true}, "none": {"NULL": true},
                   "tags": {"L": [{"S": "a"}, {"N": "1"}]}, "m": {"M": {"x": {"S": "y"}}}})
        );
        assert_eq!(
            super::item(&"text").unwrap_err().code(),
            "SerializationError"
        );
    }
}
