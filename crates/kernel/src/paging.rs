//! Keyset paging: a limit and an opaque cursor, never an offset, so that pages stay stable
//! while rows are added.

/// The largest page any list endpoint returns.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A request for one page of a list.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Page {
    /// How many items at most; clamped to `1..=MAX_PAGE_SIZE`.
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// The cursor returned with the previous page, if any.
    #[serde(default)]
    pub after: Option<String>,
}

fn default_limit() -> u32 {
    50
}

impl Default for Page {
    fn default() -> Self {
        Self { limit: default_limit(), after: None }
    }
}

impl Page {
    /// The limit, clamped to what the platform allows.
    pub fn clamped_limit(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_clamped() {
        assert_eq!(Page { limit: 0, after: None }.clamped_limit(), 1);
        assert_eq!(Page { limit: 10_000, after: None }.clamped_limit(), MAX_PAGE_SIZE);
        assert_eq!(Page::default().clamped_limit(), 50);
    }
}
