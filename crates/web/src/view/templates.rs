//! HTML templates (minijinja, autoescaped, strict about undefined variables), compiled into
//! the binary from `templates/`, whose folders mirror the modules of pages.

use std::sync::Arc;

use include_dir::{Dir, include_dir};
use kernel::Language;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, State, Value};

use super::assets::Assets;
use super::i18n::I18n;

/// Every template, under its module's folder (`base.html` and `error.html` at the top).
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Every template: (name, source), the name being its path under `templates/`.
pub fn sources() -> Vec<(&'static str, &'static str)> {
    fn walk(dir: &'static Dir<'static>, out: &mut Vec<(&'static str, &'static str)>) {
        for file in dir.files() {
            if let (Some(name), Some(source)) = (file.path().to_str(), file.contents_utf8())
                && name.ends_with(".html")
            {
                out.push((name, source));
            }
        }
        for sub in dir.dirs() {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&TEMPLATES, &mut out);
    out.sort_unstable();
    out
}

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
        for (name, source) in sources() {
            env.add_template(name, source)?;
        }
        // A variable the view does not have is an error, not a blank: every page renders from
        // a typed view struct, so this only catches typos, and every page has a test.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn templates() -> Templates {
        let i18n = Arc::new(I18n::load().expect("translations"));
        Templates::load(i18n, Arc::new(Assets::load())).expect("templates")
    }

    #[test]
    fn every_template_is_found_in_its_area_folder() {
        let names: Vec<&str> = sources().into_iter().map(|(name, _)| name).collect();
        for expected in
            ["base.html", "error.html", "offentlig/index.html", "minside/min_side.html", "ansatt/admin.html"]
        {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
    }

    #[test]
    fn a_variable_the_view_does_not_have_is_an_error_not_a_blank() {
        let templates = templates();
        let view = minijinja::context! { lang => "nb", title_key => "not-found-title", body_key => "not-found-body" };
        let error = templates.render("error.html", view).expect_err("base.html needs site_name, languages and more");
        assert_eq!(error.kind(), ErrorKind::UndefinedError, "{error:#}");
    }
}
