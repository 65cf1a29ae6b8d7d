//! Rows decoded through serde, the same way on both engines: a row is a map from column names
//! to cells, so any `#[derive(serde::Deserialize)]` struct whose fields are named like the
//! selected columns is a [`crate::Record`]. A tuple reads the columns in order.
//!
//! Written here rather than taken from a crate because it has to read two engines' rows
//! (rusqlite's and sqlx's PostgreSQL rows) into one shape; the serde side is the usual
//! `Deserializer` over a map and its values, about as small as serde allows.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use crate::StoreError;

/// One column's value, borrowed from the row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
    Bool(bool),
}

/// One column's value, owned (PostgreSQL rows are converted to these first).
#[derive(Debug, Clone)]
pub(crate) enum OwnedCell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
}

impl OwnedCell {
    pub(crate) fn as_cell(&self) -> Cell<'_> {
        match self {
            OwnedCell::Null => Cell::Null,
            OwnedCell::Int(v) => Cell::Int(*v),
            OwnedCell::Real(v) => Cell::Real(*v),
            OwnedCell::Text(v) => Cell::Text(v),
            OwnedCell::Blob(v) => Cell::Blob(v),
            OwnedCell::Bool(v) => Cell::Bool(*v),
        }
    }
}

/// A row the deserializer can read: its width, column names and cells.
pub(crate) trait RowAccess {
    fn width(&self) -> usize;
    fn name(&self, index: usize) -> &str;
    fn cell(&self, index: usize) -> Result<Cell<'_>, StoreError>;
}

/// Decodes one row into `T`.
pub(crate) fn decode<T: DeserializeOwned>(row: &impl RowAccess) -> Result<T, StoreError> {
    T::deserialize(RowDeserializer { row }).map_err(|e| StoreError::Malformed(format!("row: {}", e.0)))
}

/// A named row of owned cells.
pub(crate) struct OwnedRow<'n> {
    pub(crate) names: &'n [String],
    pub(crate) cells: Vec<OwnedCell>,
}

impl RowAccess for OwnedRow<'_> {
    fn width(&self) -> usize {
        self.cells.len()
    }
    fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("", String::as_str)
    }
    fn cell(&self, index: usize) -> Result<Cell<'_>, StoreError> {
        Ok(self.cells.get(index).map_or(Cell::Null, OwnedCell::as_cell))
    }
}

impl RowAccess for rusqlite::Row<'_> {
    fn width(&self) -> usize {
        self.as_ref().column_count()
    }
    fn name(&self, index: usize) -> &str {
        self.as_ref().column_name(index).unwrap_or("")
    }
    fn cell(&self, index: usize) -> Result<Cell<'_>, StoreError> {
        use rusqlite::types::ValueRef;
        let value = self.get_ref(index).map_err(|e| StoreError::Malformed(format!("column {index}: {e}")))?;
        Ok(match value {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(v) => Cell::Int(v),
            ValueRef::Real(v) => Cell::Real(v),
            ValueRef::Text(bytes) => Cell::Text(
                std::str::from_utf8(bytes)
                    .map_err(|_| StoreError::Malformed(format!("column {} is not UTF-8", self.name(index))))?,
            ),
            ValueRef::Blob(bytes) => Cell::Blob(bytes),
        })
    }
}

#[derive(Debug)]
struct DecodeError(String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        DecodeError(message.to_string())
    }
}

impl From<StoreError> for DecodeError {
    fn from(error: StoreError) -> Self {
        DecodeError(error.to_string())
    }
}

struct RowDeserializer<'r, R> {
    row: &'r R,
}

impl<'de, R: RowAccess> de::Deserializer<'de> for RowDeserializer<'_, R> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Columns { row: self.row, index: 0 })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_map(Columns { row: self.row, index: 0 })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_seq(Columns { row: self.row, index: 0 })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_seq(Columns { row: self.row, index: 0 })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct tuple_struct
        map enum identifier ignored_any
    }
}

/// The columns of a row, as a map (name → cell) or as a sequence of cells.
struct Columns<'r, R> {
    row: &'r R,
    index: usize,
}

impl<'de, R: RowAccess> MapAccess<'de> for Columns<'_, R> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        if self.index >= self.row.width() {
            return Ok(None);
        }
        let name = self.row.name(self.index).to_owned();
        seed.deserialize(name.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        let index = self.index;
        self.index += 1;
        let cell = self.row.cell(index)?;
        seed.deserialize(CellDeserializer { cell, column: self.row.name(index) })
    }
}

impl<'de, R: RowAccess> SeqAccess<'de> for Columns<'_, R> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        if self.index >= self.row.width() {
            return Ok(None);
        }
        let index = self.index;
        self.index += 1;
        let cell = self.row.cell(index)?;
        seed.deserialize(CellDeserializer { cell, column: self.row.name(index) }).map(Some)
    }
}

struct CellDeserializer<'a> {
    cell: Cell<'a>,
    column: &'a str,
}

impl CellDeserializer<'_> {
    fn wrong(&self, wanted: &str) -> DecodeError {
        DecodeError(format!("column `{}`: expected {wanted}, found {:?}", self.column, self.cell))
    }
}

impl<'de> de::Deserializer<'de> for CellDeserializer<'_> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.cell {
            Cell::Null => visitor.visit_unit(),
            Cell::Int(v) => visitor.visit_i64(v),
            Cell::Real(v) => visitor.visit_f64(v),
            Cell::Text(v) => visitor.visit_str(v),
            Cell::Blob(v) => visitor.visit_bytes(v),
            Cell::Bool(v) => visitor.visit_bool(v),
        }
    }

    /// SQLite has no boolean type; it stores 0 and 1.
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.cell {
            Cell::Bool(v) => visitor.visit_bool(v),
            Cell::Int(0) => visitor.visit_bool(false),
            Cell::Int(1) => visitor.visit_bool(true),
            _ => Err(self.wrong("a boolean")),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.cell {
            Cell::Real(v) => visitor.visit_f64(v),
            #[allow(clippy::cast_precision_loss)]
            Cell::Int(v) => visitor.visit_f64(v as f64),
            _ => Err(self.wrong("a number")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.cell {
            Cell::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant stored as its name, e.g. a status column.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.cell {
            Cell::Text(text) => visitor.visit_enum(text.into_deserializer()),
            _ => Err(self.wrong("text naming a variant")),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(names: &[String], cells: Vec<OwnedCell>) -> OwnedRow<'_> {
        OwnedRow { names, cells }
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Example {
        id: String,
        n: i64,
        small: i32,
        flag: bool,
        note: Option<String>,
        missing: Option<i64>,
    }

    #[test]
    fn a_struct_reads_its_fields_by_column_name() {
        let names: Vec<String> = ["small", "id", "n", "flag", "note", "missing"].map(str::to_owned).to_vec();
        let decoded: Example = decode(&row(
            &names,
            vec![
                OwnedCell::Int(7),
                OwnedCell::Text("a".into()),
                OwnedCell::Int(-3),
                OwnedCell::Int(1),
                OwnedCell::Null,
                OwnedCell::Int(9),
            ],
        ))
        .expect("decode");
        assert_eq!(decoded, Example { id: "a".into(), n: -3, small: 7, flag: true, note: None, missing: Some(9) });
    }

    #[test]
    fn wrong_types_and_missing_columns_are_errors_not_panics() {
        let names: Vec<String> = ["id", "n"].map(str::to_owned).to_vec();
        let missing = decode::<Example>(&row(&names, vec![OwnedCell::Text("a".into()), OwnedCell::Int(1)]));
        assert!(matches!(missing, Err(StoreError::Malformed(_))), "{missing:?}");
        let names: Vec<String> = ["small"].map(str::to_owned).to_vec();
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Small {
            small: i32,
        }
        let overflow = decode::<Small>(&row(&names, vec![OwnedCell::Int(i64::MAX)]));
        assert!(overflow.is_err());
        let names: Vec<String> = ["flag"].map(str::to_owned).to_vec();
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Flag {
            flag: bool,
        }
        assert!(decode::<Flag>(&row(&names, vec![OwnedCell::Int(2)])).is_err());
        assert!(decode::<Flag>(&row(&names, vec![OwnedCell::Bool(true)])).expect("bool").flag);
    }

    #[test]
    fn a_tuple_reads_columns_in_order_and_enums_read_their_names() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Status {
            Queued,
            Done,
        }
        let names: Vec<String> = ["a", "b"].map(str::to_owned).to_vec();
        let decoded: (String, Status) =
            decode(&row(&names, vec![OwnedCell::Text("x".into()), OwnedCell::Text("done".into())])).expect("tuple");
        assert_eq!(decoded, ("x".to_owned(), Status::Done));
        let unknown: Result<(String, Status), _> =
            decode(&row(&names, vec![OwnedCell::Text("x".into()), OwnedCell::Text("lost".into())]));
        assert!(unknown.is_err());
        let _ = Status::Queued;
    }
}
