//! What can go wrong when templates load or a letter renders.

use crate::LetterKind;

/// Why a renderer could not be built or a letter or document not rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template file is malformed or inconsistent; `file` names it, `field` the field at fault
    /// where there is one.
    #[error("template {file}{}: {message}", field.as_deref().map(|f| format!(", field {f}")).unwrap_or_default())]
    Template { file: String, field: Option<String>, message: String },
    /// The letter gives a field its template does not declare.
    #[error("the {kind} template declares no field named {field:?}")]
    UnknownField { kind: LetterKind, field: String },
    /// The letter leaves out (or leaves empty) a field its template requires.
    #[error("the {kind} template requires the field {field:?}")]
    MissingField { kind: LetterKind, field: String },
    /// Typst could not lay out or export the document: a bad coat of arms SVG, or a fault in the
    /// layout itself.
    #[error("typesetting failed: {0}")]
    Typst(String),
}

impl RenderError {
    pub(crate) fn template(file: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        RenderError::Template { file: file.to_owned(), field: field.map(str::to_owned), message: message.into() }
    }
}
