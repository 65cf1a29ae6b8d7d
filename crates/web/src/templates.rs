//! HTML templates (minijinja, autoescaped), compiled into the binary.

use std::sync::Arc;

use kernel::Language;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::assets::Assets;
use crate::i18n::I18n;

/// Every template, by name.
pub const TEMPLATES: [(&str, &str); 13] = [
    ("base.html", include_str!("../templates/base.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("accessibility.html", include_str!("../templates/accessibility.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("logged_out.html", include_str!("../templates/logged_out.html")),
    ("logging_out.html", include_str!("../templates/logging_out.html")),
    ("test_idp.html", include_str!("../templates/test_idp.html")),
    ("min_side.html", include_str!("../templates/min_side.html")),
    ("representere.html", include_str!("../templates/representere.html")),
    ("fullmakt.html", include_str!("../templates/fullmakt.html")),
    ("ansatt.html", include_str!("../templates/ansatt.html")),
    ("admin.html", include_str!("../templates/admin.html")),
    ("admin_clients.html", include_str!("../templates/admin_clients.html")),
];

/// The template environment with the `t` (translate) and `asset` (versioned URL) functions.
pub struct Templates {
    env: Environment<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// Loads every template; fails if one does not parse.
    pub fn load(i18n: Arc<I18n>, assets: Arc<Assets>) -> Result<Self, Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.add_function("t", move |state: &State, key: String, kwargs: Kwargs| -> Result<String, Error> {
            let language = state
                .lookup("lang")
                .and_then(|v| v.as_str().and_then(|s| s.parse::<Language>().ok()))
                .unwrap_or_default();
            let mut args = Vec::new();
            for name in kwargs.args() {
                let value: Value = kwargs.get(name)?;
                args.push((name, value.to_string()));
            }
            kwargs.assert_all_used()?;
            Ok(i18n.message(language, &key, &args))
        });
        env.add_function("asset", move |name: String| -> Result<Value, Error> {
            // Our own URL of our own asset: safe as it is, and readable in the page source.
            assets
                .url(&name)
                .map(Value::from_safe_string)
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("unknown asset {name}")))
        });
        Ok(Self { env })
    }

    /// Renders template `name` with `context`.
    pub fn render(&self, name: &str, context: Value) -> Result<String, Error> {
        self.env.get_template(name)?.render(context)
    }
}
