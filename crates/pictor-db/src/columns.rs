//! Column types for the records' derived `FromRow`, used through
//! `#[sqlx(try_from = "...")]`: TEXT holding JSON, and BIGINT 0/1 flags.
//!
//! JSON that does not parse fails the row with [`InvalidJson`], which
//! [`crate::DbError`] reports as `BadJson`: never read as an empty value.

use serde::de::DeserializeOwned;
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::error::BoxDynError;
use sqlx::{Decode, Type};

/// A TEXT column holding JSON.
pub(crate) struct JsonText<T>(T);

/// A nullable TEXT column holding JSON.
pub(crate) struct NullableJsonText<T>(Option<T>);

/// A BIGINT column holding 1 for true.
pub(crate) struct Flag(bool);

/// The text of a JSON column does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct InvalidJson(serde_json::Error);

fn parse<T: DeserializeOwned>(text: &str) -> Result<T, BoxDynError> {
    serde_json::from_str(text).map_err(|e| InvalidJson(e).into())
}

impl<T> Type<Any> for JsonText<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<T> Type<Any> for NullableJsonText<T> {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl Type<Any> for Flag {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Any> for JsonText<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        parse(&<String as Decode<'r, Any>>::decode(value)?).map(Self)
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Any> for NullableJsonText<T> {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <Option<String> as Decode<'r, Any>>::decode(value)?.map(|text| parse(&text)).transpose().map(Self)
    }
}

impl<'r> Decode<'r, Any> for Flag {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self(<i64 as Decode<'r, Any>>::decode(value)? == 1))
    }
}

impl From<JsonText<serde_json::Value>> for serde_json::Value {
    fn from(column: JsonText<serde_json::Value>) -> Self {
        column.0
    }
}

impl From<JsonText<Vec<String>>> for Vec<String> {
    fn from(column: JsonText<Vec<String>>) -> Self {
        column.0
    }
}

impl From<NullableJsonText<serde_json::Value>> for Option<serde_json::Value> {
    fn from(column: NullableJsonText<serde_json::Value>) -> Self {
        column.0
    }
}

/// NULL (as from a LEFT JOIN that found nothing) reads as an empty list.
impl From<NullableJsonText<Vec<String>>> for Vec<String> {
    fn from(column: NullableJsonText<Vec<String>>) -> Self {
        column.0.unwrap_or_default()
    }
}

impl From<Flag> for bool {
    fn from(column: Flag) -> Self {
        column.0
    }
}
