//! Error kinds shared by every context, so that the web layer can map any domain error to
//! the right status code without knowing the context that raised it.

/// What kind of failure a domain error is. Domain crates keep their own `thiserror` enums and
/// expose one of these through a `kind()` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing asked for does not exist (or the caller may not know that it does).
    NotFound,
    /// The request conflicts with the current state (a duplicate, a stale version).
    Conflict,
    /// The caller is known but not allowed to do this.
    Forbidden,
    /// The input broke a rule; the message names the rule.
    Invalid,
    /// Anything else: a bug or an outage. Details are logged, never shown.
    Other,
}
