//! The providers and the generator settings: the one place to change how a client is generated.

use progenitor::{CrateVers, GenerationSettings, InterfaceStyle, TagStyle, TypeImpl};
use quote::quote;
use schemars::schema::{InstanceType, SchemaObject, SingleOrVec};

/// A provider: its spec and the crate generated from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Provider {
    /// The crate's name, also its folder under `crates/`.
    pub crate_name: &'static str,
    /// The spec's file name under `openapi/`.
    pub spec_file: &'static str,
    /// The short name (`cargo xtask contract-diff entrust ...`, the README's table).
    pub short_name: &'static str,
}

impl Provider {
    /// The spec, relative to the workspace root.
    pub fn spec_path(&self) -> String {
        format!("openapi/{}", self.spec_file)
    }

    /// The generated file, relative to the workspace root.
    pub fn generated_path(&self) -> String {
        format!("crates/{}/src/generated.rs", self.crate_name)
    }

    /// The simulator's copy of the spec, relative to the workspace root: `iam-sandbox` embeds and
    /// serves it, and a crate may embed only files inside its own folder (`cargo package`).
    pub fn sandbox_spec_path(&self) -> String {
        format!("crates/iam-sandbox/openapi/{}", self.spec_file)
    }
}

/// Every provider, in the order they are generated.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        crate_name: "entrust-idaas",
        spec_file: "entrust-idaas.yaml",
        short_name: "entrust",
    },
    Provider {
        crate_name: "mid-provider",
        spec_file: "mid-provider.yaml",
        short_name: "mid",
    },
    Provider {
        crate_name: "nexway-iam",
        spec_file: "nexway-iam.yaml",
        short_name: "nexway",
    },
];

/// The provider named `name`: its short name (`entrust`) or its crate's (`entrust-idaas`).
pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS
        .iter()
        .find(|p| p.short_name == name || p.crate_name == name)
}

/// The generator settings, the same for every provider:
///
/// - positional methods (`client.create_user(&body)`), one `Client` per spec;
/// - the client carries an `iam_core::Auth`, and `iam_core::authorize` runs before every request
///   (progenitor ignores `security`: this is where the bearer token, the HTTPS check and the
///   removal of progenitor's `api-version` header happen); `iam_core::observe::record_status`
///   runs after every answer, so callers learn the status even when the body does not decode;
/// - every type also derives `schemars::JsonSchema`;
/// - maps are `BTreeMap`, so output and serialization order are deterministic;
/// - a `format: password` string is an `iam_core::SecretString`, which never prints;
/// - an answer's enum is an `iam_core::Open` (see [`crate::liberal`], which writes the
///   `x-rust-type` extensions this setting lets typify honour).
pub fn generation_settings() -> GenerationSettings {
    let mut settings = GenerationSettings::new();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_inner_type(quote!(::iam_core::Auth))
        .with_pre_hook_async(quote!(::iam_core::authorize))
        .with_post_hook(quote!(::iam_core::observe::record_status))
        .with_derive("schemars::JsonSchema")
        .with_map_type("::std::collections::BTreeMap")
        .with_crate(
            crate::liberal::OPEN_CRATE,
            CrateVers::parse(crate::liberal::OPEN_CRATE_VERSION).expect("a semver version"),
            None,
        )
        .with_conversion(
            password_schema(false),
            "::iam_core::SecretString",
            secret_impls(),
        )
        .with_conversion(
            password_schema(true),
            "::std::option::Option<::iam_core::SecretString>",
            secret_impls(),
        );
    settings
}

fn password_schema(nullable: bool) -> SchemaObject {
    let instance_type = if nullable {
        SingleOrVec::Vec(vec![InstanceType::String, InstanceType::Null])
    } else {
        SingleOrVec::Single(Box::new(InstanceType::String))
    };
    SchemaObject {
        instance_type: Some(instance_type),
        format: Some("password".to_owned()),
        ..Default::default()
    }
}

fn secret_impls() -> impl Iterator<Item = TypeImpl> {
    [TypeImpl::FromStr, TypeImpl::Default].into_iter()
}
