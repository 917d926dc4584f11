//! The transport policy: HTTPS, or plain HTTP to loopback only.
//!
//! The vendors refuse plain HTTP ("Calls made over plain http will fail", mID's document), and a
//! bearer token sent in clear can be replayed by anyone on the path. Plain `http://` is still
//! allowed to a loopback host, where the simulator and the tests listen.

use std::net::IpAddr;

use reqwest::Url;

use crate::ConfigError;

/// Checks a base URL against the policy and returns it without a trailing `/` (the generated
/// clients append paths that start with `/`).
///
/// ```
/// use iam_core::base_url::normalize;
///
/// assert_eq!(normalize("https://acme.us.trustedauth.com/").unwrap(), "https://acme.us.trustedauth.com");
/// assert_eq!(normalize("http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
/// assert!(normalize("http://acme.us.trustedauth.com").is_err());
/// ```
pub fn normalize(base_url: &str) -> Result<String, ConfigError> {
    let url = Url::parse(base_url.trim()).map_err(|e| ConfigError::InvalidBaseUrl {
        url: without_userinfo(base_url),
        reason: e.to_string(),
    })?;
    check(&url)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::InvalidBaseUrl {
            url: url.to_string(),
            reason: "a base URL takes no query (`?`) or fragment (`#`)".to_owned(),
        });
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Checks one URL against the policy: the scheme, the host, no user-info.
pub fn check(url: &Url) -> Result<(), ConfigError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::CredentialsInUrl);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        _ => Err(ConfigError::InsecureBaseUrl {
            url: url.to_string(),
        }),
    }
}

/// Checks one label of a host name (an Entrust domain or region, an mID tenant): letters, digits
/// and `-`, so that a value cannot move the request to another host (`evil.com/` or `a@b`).
pub fn host_label<'a>(name: &'static str, value: &'a str) -> Result<&'a str, ConfigError> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(value)
        .ok_or_else(|| ConfigError::InvalidServerVariable {
            name,
            value: value.to_owned(),
        })
}

/// Checks a host name (dot-separated labels, an optional `:port`), for an mID `hostname`.
pub fn host_name<'a>(name: &'static str, value: &'a str) -> Result<&'a str, ConfigError> {
    let (host, port) = value.rsplit_once(':').unwrap_or((value, "1"));
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    let host_ok = host.split('.').all(|label| host_label(name, label).is_ok());
    (port_ok && host_ok)
        .then_some(value)
        .ok_or_else(|| ConfigError::InvalidServerVariable {
            name,
            value: value.to_owned(),
        })
}

/// The tenant a host name carries in its first label, as mID's SSMS URL
/// (`https://{tenant}.{hostname}`) and Entrust's account URL do: the first label of a name with
/// several labels (`acme.mid.example.com` -> `acme`). `None` for an IP address or a single
/// label (`localhost`). `host` has no port.
///
/// ```
/// use iam_core::base_url::tenant_label;
/// assert_eq!(tenant_label("acme.sandbox.localhost"), Some("acme"));
/// assert_eq!(tenant_label("127.0.0.1"), None);
/// assert_eq!(tenant_label("[::1]"), None);
/// assert_eq!(tenant_label("localhost"), None);
/// ```
pub fn tenant_label(host: &str) -> Option<&str> {
    if host.starts_with('[') || host.parse::<IpAddr>().is_ok() {
        return None;
    }
    host.split_once('.')
        .map(|(first, _)| first)
        .filter(|first| !first.is_empty())
}

/// Whether the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

/// The URL as given, for error messages, with everything between the scheme and the last `@`
/// (where user-info would be) replaced by `***`: a URL that does not parse may still hold a password.
fn without_userinfo(url: &str) -> String {
    let Some(at) = url.rfind('@') else {
        return url.to_owned();
    };
    let scheme = url
        .find("://")
        .filter(|&start| start < at)
        .map_or("", |start| &url[..start + 3]);
    format!("{scheme}***@{}", &url[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_to_loopback_are_accepted() {
        for url in [
            "https://acme.us.trustedauth.com",
            "https://api.nexway.store/",
            "http://127.0.0.1:3000",
            "http://127.8.9.10",
            "http://[::1]:8080/",
            "http://localhost:1234",
            "http://sandbox.localhost",
        ] {
            assert!(normalize(url).is_ok(), "{url} should be accepted");
        }
    }

    #[test]
    fn plain_http_elsewhere_and_other_schemes_are_refused() {
        for url in [
            "http://acme.us.trustedauth.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
            "ftp://127.0.0.1",
            "file:///etc/passwd",
        ] {
            let err = normalize(url).unwrap_err();
            assert!(
                matches!(err, ConfigError::InsecureBaseUrl { .. }),
                "{url}: {err}"
            );
            assert!(err.to_string().contains("https://"), "{err}");
        }
    }

    #[test]
    fn server_variables_cannot_move_the_request_to_another_host() {
        assert!(host_label("domain", "acme-1").is_ok());
        assert!(host_name("hostname", "mid.example.com").is_ok());
        assert!(host_name("hostname", "127.0.0.1:8443").is_ok());
        for bad in ["", "evil.com/", "a@b", "a b", "x#", "a.b"] {
            let err = host_label("domain", bad).unwrap_err();
            assert!(err.to_string().contains("domain"), "{err}");
        }
        for bad in [
            "",
            "evil.com/x",
            "a@b.com",
            "h..com",
            "h.com:",
            "h.com:99999x",
        ] {
            assert!(host_name("hostname", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trailing_slash_is_removed_and_path_stem_kept() {
        assert_eq!(
            normalize("https://h.example/stem/").unwrap(),
            "https://h.example/stem"
        );
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_echoing_them() {
        let err = normalize("https://admin:pa55word@h.example").unwrap_err();
        assert!(matches!(err, ConfigError::CredentialsInUrl));
        let err = normalize("not a url admin:pa55word@").unwrap_err();
        assert!(!err.to_string().contains("pa55word"), "{err}");
    }

    #[test]
    fn unparsable_and_query_urls_name_the_problem() {
        let err = normalize("acme.us.trustedauth.com").unwrap_err();
        assert!(err.to_string().contains("acme.us.trustedauth.com"), "{err}");
        let err = normalize("https://h.example/?x=1").unwrap_err();
        assert!(err.to_string().contains("query"), "{err}");
    }
}
