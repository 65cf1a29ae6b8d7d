//! The platform's own signing keys: the built-in test identity provider's, the demo relying
//! party's client key, and the demo token endpoint's. Kept in the database so every instance
//! signs and verifies with the same key; made on first use.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use store::{Db, params};

use crate::jose::{SigningKey, random_token};
use crate::{IdentityError, now_seconds};

/// The key for `purpose` (e.g. `test-idp`), made and stored if there is none yet.
pub async fn platform_key(db: &Db, purpose: &str) -> Result<Arc<SigningKey>, IdentityError> {
    #[derive(serde::Deserialize)]
    struct Row {
        kid: String,
        pkcs8: String,
    }
    let find = || async {
        db.fetch_optional::<Row>(
            "SELECT kid, pkcs8 FROM platform_keys WHERE purpose = $1 ORDER BY created_at, kid LIMIT 1",
            &params![purpose],
        )
        .await
    };
    if find().await?.is_none() {
        let kid = format!("{purpose}-{}", random_token(6));
        let (_, der) = SigningKey::generate_es256(&kid)?;
        db.execute(
            "INSERT INTO platform_keys (kid, purpose, pkcs8, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &params![kid.as_str(), purpose, STANDARD.encode(der), now_seconds()],
        )
        .await?;
    }
    // Read back rather than use the one just made: another instance may have been first.
    let row = find().await?.ok_or_else(|| IdentityError::Conflict("the platform key vanished".to_owned()))?;
    let der = STANDARD
        .decode(row.pkcs8)
        .map_err(|_| IdentityError::Conflict("a stored platform key is not base64".to_owned()))?;
    Ok(Arc::new(SigningKey::es256_from_pkcs8(&der, &row.kid)?))
}
