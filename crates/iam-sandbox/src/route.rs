//! The four create-user routes and the three providers behind them.

use serde::{Deserialize, Serialize};

/// A create-user route of the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    /// `POST /api/web/v3/users`
    Entrust,
    /// `POST /digitanium/v4/users` (tenant: first label of the Host header)
    MidSsms,
    /// `POST /auth/realms/{tenantId}/v3_user`
    MidShift,
    /// `POST /iam/users`
    Nexway,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 4] = [
        Route::Entrust,
        Route::MidSsms,
        Route::MidShift,
        Route::Nexway,
    ];

    /// The provider whose users the route creates.
    pub fn provider(self) -> Provider {
        match self {
            Route::Entrust => Provider::Entrust,
            Route::MidSsms | Route::MidShift => Provider::Mid,
            Route::Nexway => Provider::Nexway,
        }
    }

    /// The route's path, as in the spec.
    pub fn path(self) -> &'static str {
        match self {
            Route::Entrust => "/api/web/v3/users",
            Route::MidSsms => "/digitanium/v4/users",
            Route::MidShift => "/auth/realms/{tenantId}/v3_user",
            Route::Nexway => "/iam/users",
        }
    }
}

/// A provider: a namespace of users, split by tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Entrust IDaaS; the tenant is the account (`{domain}` of the host name).
    Entrust,
    /// mID Provider; SSMS and SHIFT share each tenant's users.
    Mid,
    /// Nexway IAM; one tenant, `default`.
    Nexway,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 3] = [Provider::Entrust, Provider::Mid, Provider::Nexway];

    /// The spec's name, as served at `/openapi/{name}.yaml`.
    pub fn spec_name(self) -> &'static str {
        match self {
            Provider::Entrust => "entrust-idaas",
            Provider::Mid => "mid-provider",
            Provider::Nexway => "nexway-iam",
        }
    }

    /// The spec, embedded at compile time from this crate's `openapi/`: byte-identical copies of
    /// the workspace's specs, written by `cargo xtask generate` and checked by `cargo xtask check`.
    pub fn spec_yaml(self) -> &'static str {
        match self {
            Provider::Entrust => include_str!("../openapi/entrust-idaas.yaml"),
            Provider::Mid => include_str!("../openapi/mid-provider.yaml"),
            Provider::Nexway => include_str!("../openapi/nexway-iam.yaml"),
        }
    }
}
