use std::path::PathBuf;

use allmenning::config::{ConfigError, Mode, Overrides, Settings};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    Settings::load(None, env(pairs), &Overrides::default())
}

#[test]
fn zero_configuration_gives_sqlite_in_the_data_directory_on_port_8080() {
    let settings = load(&[]).expect("defaults");
    assert_eq!(settings.mode, Mode::Production);
    assert_eq!(settings.database_url(), "sqlite://./data/allmenning.db");
    assert_eq!(settings.server.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.municipalities.len(), 1);
    assert_eq!(settings.municipalities[0].kommunenummer.as_str(), "4601");
    assert!(settings.server.trusted_proxies.is_empty(), "no proxy is trusted unless configured");
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let settings = load(&[("ALLMENNING__SERVER__TRUSTED_PROXIES", r#"["10.0.0.0/8", "192.0.2.10", "2001:db8::/32"]"#)])
        .expect("valid");
    let networks = settings.server.trusted_proxy_networks().expect("networks");
    let shown: Vec<String> = networks.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["10.0.0.0/8", "192.0.2.10/32", "2001:db8::/32"]);
}

#[test]
fn environment_variables_set_keys_with_the_right_types() {
    let settings = load(&[
        ("ALLMENNING__DATABASE__URL", "postgres://app:hemmelig@db.internal/allmenning"),
        ("ALLMENNING__DATABASE__MAX_CONNECTIONS", "32"),
        ("ALLMENNING__SERVER__SECURE_COOKIES", "true"),
        ("ALLMENNING__MODE", "demo"),
        ("ALLMENNING__MUNICIPALITIES", r#"[{ kommunenummer = "0301", hosts = ["oslo.example.no"] }]"#),
        ("UNRELATED", "ignored"),
    ])
    .expect("valid");
    assert_eq!(settings.database_url(), "postgres://app:hemmelig@db.internal/allmenning");
    assert_eq!(settings.database.max_connections, 32);
    assert!(settings.server.secure_cookies);
    assert_eq!(settings.mode, Mode::Demo);
    // The leading zero survives: the variable is read as the type the key has.
    assert_eq!(settings.municipalities[0].kommunenummer.as_str(), "0301");
}

#[test]
fn the_printed_configuration_redacts_secrets() {
    let settings = load(&[
        ("ALLMENNING__DATABASE__URL", "postgres://app:hemmelig@db.internal/allmenning"),
        ("ALLMENNING__BLOBS__SECRET_ACCESS_KEY", "s3-hemmelig"),
    ])
    .expect("valid");
    let printed = settings.to_redacted_toml();
    assert!(!printed.contains("hemmelig"), "{printed}");
    assert!(printed.contains("postgres://app:[redacted]@db.internal/allmenning"), "{printed}");
    assert!(!format!("{settings:?}").contains("hemmelig"));
}

#[test]
fn unknown_keys_are_refused_naming_the_key() {
    let error = load(&[("ALLMENNING__SERVER__PROT", "80")]).expect_err("unknown key");
    let message = error.to_string();
    assert!(message.contains("server") && message.contains("prot"), "{message}");
}

#[test]
fn invalid_values_are_refused_naming_the_key() {
    let cases = [
        ("ALLMENNING__SERVER__BIND", "not an address", "server.bind"),
        ("ALLMENNING__DATABASE__MAX_CONNECTIONS", "many", "ALLMENNING__DATABASE__MAX_CONNECTIONS"),
        ("ALLMENNING__MODE", "staging", "mode"),
        ("ALLMENNING__DATABASE__URL", "mysql://x", "database.url"),
        ("ALLMENNING__MUNICIPALITIES", r#"[{ kommunenummer = "9999" }]"#, "municipalities"),
        ("ALLMENNING__SERVER__TRUSTED_PROXIES", r#"["10.0.0.0/8", "proxy.example.no"]"#, "server.trusted_proxies"),
        ("ALLMENNING__RATE_LIMITS__WINDOW_SECONDS", "0", "rate_limits"),
        ("ALLMENNING__SERVER__MAX_CONNECTIONS", "0", "server"),
        ("ALLMENNING__SERVER__HEADER_TIMEOUT_SECONDS", "0", "server"),
    ];
    for (variable, value, key) in cases {
        let message = load(&[(variable, value)]).expect_err(variable).to_string();
        assert!(message.contains(key), "{variable}={value}: {message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }
}

#[test]
fn a_configuration_file_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("allmenning.toml");
    std::fs::write(
        &file,
        "mode = \"demo\"\n[server]\nbind = \"0.0.0.0:9000\"\n[[municipalities]]\nkommunenummer = \"1103\"\n",
    )
    .expect("write");
    let settings =
        Settings::load(Some(&file), env(&[("ALLMENNING__SERVER__BIND", "127.0.0.1:9001")]), &Overrides::default())
            .expect("valid");
    assert_eq!(settings.mode, Mode::Demo);
    assert_eq!(settings.server.bind.to_string(), "127.0.0.1:9001");
    assert_eq!(settings.municipalities[0].kommunenummer.navn(), "Stavanger");

    std::fs::write(&file, "[server\nbind = 1").expect("write");
    let error = Settings::load(Some(&file), env(&[]), &Overrides::default()).expect_err("bad TOML");
    assert!(matches!(error, ConfigError::Syntax { .. }), "{error}");
}

#[test]
fn command_line_overrides_win_and_demo_has_its_own_data_directory() {
    let demo = Settings::load(None, env(&[]), &Overrides { demo: true, ..Overrides::default() }).expect("demo");
    assert_eq!(demo.mode, Mode::Demo);
    assert_eq!(demo.data_dir, PathBuf::from("./data/demo"));
    assert_eq!(demo.database_url(), "sqlite://./data/demo/allmenning.db");

    let overridden = Settings::load(
        None,
        env(&[("ALLMENNING__SERVER__BIND", "127.0.0.1:9000")]),
        &Overrides { port: Some(8181), data_dir: Some(PathBuf::from("/srv/a")), demo: true, ..Overrides::default() },
    )
    .expect("overrides");
    assert_eq!(overridden.server.bind.to_string(), "127.0.0.1:8181");
    assert_eq!(overridden.database_url(), "sqlite:///srv/a/allmenning.db");
}

#[test]
fn ambiguous_municipality_hosts_are_refused() {
    let error = load(&[("ALLMENNING__MUNICIPALITIES", r#"[{ kommunenummer = "4601" }, { kommunenummer = "1103" }]"#)])
        .expect_err("two fallbacks");
    assert!(error.to_string().contains("municipalities"), "{error}");
}

#[test]
fn each_municipality_has_a_public_address_on_its_own_host() {
    let settings = load(&[
        ("ALLMENNING__SERVER__PUBLIC_URL", "https://allmenning.example.no:8443/"),
        (
            "ALLMENNING__MUNICIPALITIES",
            r#"[{ kommunenummer = "4601", hosts = ["bergen.example.no"] },
                { kommunenummer = "1103", hosts = ["stavanger.example.no"], public_url = "https://stavanger.example.no/" },
                { kommunenummer = "3201" }]"#,
        ),
    ])
    .expect("valid");
    let deployment = settings.public_url();
    let addresses: Vec<String> = settings.municipalities.iter().map(|m| m.public_url(&deployment)).collect();
    assert_eq!(
        addresses,
        ["https://bergen.example.no:8443", "https://stavanger.example.no", "https://allmenning.example.no:8443"]
    );
    let web = settings.web_municipalities(&deployment);
    assert_eq!(web[0].public_url, "https://bergen.example.no:8443");

    // An address on a host that does not reach the municipality would lose the login cookie.
    for bad in [r#""https://bergen.example.no""#, r#""ftp://stavanger.example.no""#, r#""stavanger.example.no""#] {
        let list = format!(r#"[{{ kommunenummer = "1103", hosts = ["stavanger.example.no"], public_url = {bad} }}]"#);
        let error = load(&[("ALLMENNING__MUNICIPALITIES", &list)]).expect_err(bad);
        assert!(error.to_string().contains("municipalities.1103.public_url"), "{error}");
    }
}

#[test]
fn register_urls_must_be_urls() {
    let error = load(&[("ALLMENNING__REGISTERS__KRR_URL", "krr.example.no")]).expect_err("not a URL");
    assert!(error.to_string().contains("registers.krr_url"), "{error}");
    let settings = load(&[
        ("ALLMENNING__REGISTERS__KRR_URL", "https://krr.example.no"),
        ("ALLMENNING__REGISTERS__TOKEN", "maskinporten-token"),
    ])
    .expect("valid");
    let config = settings.registers_config();
    assert!(config.krr.is_some() && config.folkeregisteret.is_none());
    assert!(!format!("{config:?}").contains("maskinporten-token"), "the token never prints");
    assert!(!settings.to_redacted_toml().contains("maskinporten-token"));
}

#[test]
fn register_access_settings_are_checked() {
    let error =
        load(&[("ALLMENNING__REGISTERS__FOLKEREGISTERET_RETTIGHETSPAKKE", "alt")]).expect_err("unknown package");
    assert!(error.to_string().contains("registers.folkeregisteret_rettighetspakke"), "{error}");
    let error = load(&[
        ("ALLMENNING__REGISTERS__ENHETSREGISTERET_URL", "https://data.brreg.no"),
        ("ALLMENNING__REGISTERS__ENHETSREGISTERET_AUTHORISED_ROLES", "true"),
    ])
    .expect_err("the authorised API needs a token");
    assert!(error.to_string().contains("registers.enhetsregisteret_authorised_roles"), "{error}");
    let settings = load(&[
        ("ALLMENNING__REGISTERS__ENHETSREGISTERET_URL", "https://data.brreg.no"),
        ("ALLMENNING__REGISTERS__ENHETSREGISTERET_AUTHORISED_ROLES", "true"),
        ("ALLMENNING__REGISTERS__TOKEN", "maskinporten-token"),
        ("ALLMENNING__REGISTERS__FOLKEREGISTERET_URL", "https://folkeregisteret.api.skatteetaten.no"),
        ("ALLMENNING__REGISTERS__FOLKEREGISTERET_RETTIGHETSPAKKE", "offentlig-uten-hjemmel"),
    ])
    .expect("valid");
    let config = settings.registers_config();
    assert!(config.enhetsregisteret_authorised_roles && config.enhetsregisteret.is_some());
    assert_eq!(config.folkeregisteret.map(|(_, pakke)| pakke).as_deref(), Some("offentlig-uten-hjemmel"));
}

#[test]
fn the_example_configuration_in_deploy_loads_as_documented() {
    let path = crate::helpers::repository_root().join("deploy/allmenning.toml");
    let settings = Settings::load(Some(&path), env(&[]), &Overrides::default()).expect("the example is valid");
    assert_eq!(settings.mode, Mode::Production);
    assert_eq!(settings.database_url(), "sqlite:///var/lib/allmenning/allmenning.db");
    assert!(settings.served_over_https());
    assert_eq!(settings.municipalities[0].hosts, ["tjenester.example.kommune.no"]);
    // The environment still wins over the file, as its comments say.
    let settings = Settings::load(
        Some(&path),
        env(&[("ALLMENNING__DATABASE__URL", "postgres://allmenning@db.internal/allmenning")]),
        &Overrides::default(),
    )
    .expect("valid");
    assert_eq!(settings.db_backend_name(), "postgres");
}
