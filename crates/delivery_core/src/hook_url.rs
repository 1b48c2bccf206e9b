//! Hook URL validation, run when a hook is created or changed and again before each request.
//!
//! `http::Uri` (through ureq) does the syntax; it is lenient about ports, user info and
//! fragments, so those are checked here. Messages never repeat the whole URL: query strings
//! often carry tokens.

use std::fmt;
use std::net::Ipv6Addr;

use ureq::http::Uri;

/// A URL a hook may be sent to: `http` or `https`, a host, no user info, a valid port if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookUrl(Uri);

/// Why a hook URL was rejected. The message is what follows `Invalid hook URL: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookUrlError(String);

impl fmt::Display for HookUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HookUrlError {}

fn invalid(why: impl Into<String>) -> HookUrlError {
    HookUrlError(why.into())
}

impl HookUrl {
    /// Checks `url` and keeps it parsed.
    pub fn parse(url: &str) -> Result<HookUrl, HookUrlError> {
        if url.trim().is_empty() {
            return Err(invalid("the URL is empty"));
        }
        // Uri drops a fragment silently; it is never sent, so its presence is a mistake.
        if url.contains('#') {
            return Err(invalid("a fragment (#...) is never sent to the server; remove it"));
        }
        // The scheme first: without "://", Uri reads `example.com/x` as a bare path.
        match url.split_once("://") {
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {}
            Some((scheme, _))
                if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                return Err(invalid(format!("the scheme must be http or https, not \"{scheme}\"")));
            }
            _ => return Err(invalid("it must start with http:// or https://")),
        }
        let uri = url.parse::<Uri>().map_err(|e| invalid(syntax_error(&e.to_string())))?;
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or("");
        if authority.contains('@') {
            return Err(invalid("user info (user:password@) is not allowed; put credentials in the hook's headers"));
        }
        let (host, port) = split_host_port(authority)?;
        check_host(host)?;
        if let Some(port) = port {
            check_port(port)?;
        }
        Ok(HookUrl(uri))
    }

    /// The URL as ureq will request it.
    pub fn as_uri(&self) -> &Uri {
        &self.0
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme_str() == Some("https")
    }

    /// The host as written (an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        self.0.host().unwrap_or("")
    }

    /// The port connected to: the explicit one, else 80 or 443.
    pub fn port(&self) -> u16 {
        self.0.port_u16().unwrap_or(if self.is_https() { 443 } else { 80 })
    }
}

impl fmt::Display for HookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Validates a hook URL: the check `hook_create` and `hook_update` run.
pub fn validate_hook_url(url: &str) -> Result<(), HookUrlError> {
    HookUrl::parse(url).map(|_| ())
}

/// http's terse parse errors, reworded for someone who typed a URL.
fn syntax_error(error: &str) -> String {
    match error {
        "invalid uri character" => {
            "it contains a character not allowed in URLs (spaces, control and non-ASCII characters must be \
             percent-encoded)"
                .to_owned()
        }
        "invalid authority" => "the host or port is malformed".to_owned(),
        "invalid format" => "it is not of the form http://host/path".to_owned(),
        "uri too long" => "it is too long".to_owned(),
        // What `http://` alone gives.
        "empty string" => "it has no host".to_owned(),
        other => format!("it is not a valid URL ({other})"),
    }
}

/// `host[:port]` or `[v6]:port`; the port part is returned as written.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), HookUrlError> {
    let (host, rest) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => authority.split_at(end + 1),
            None => return Err(invalid("the host or port is malformed")),
        }
    } else {
        match authority.rfind(':') {
            Some(colon) => authority.split_at(colon),
            None => (authority, ""),
        }
    };
    match rest.strip_prefix(':') {
        Some(port) => Ok((host, Some(port))),
        None if rest.is_empty() => Ok((host, None)),
        None => Err(invalid("the host or port is malformed")),
    }
}

fn check_host(host: &str) -> Result<(), HookUrlError> {
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        // Zone ids (fe80::1%25eth0) name a local interface: never a hook's business.
        return match inner.parse::<Ipv6Addr>() {
            Ok(_) => Ok(()),
            Err(_) => Err(invalid(format!("the host {host} is not a valid IPv6 address"))),
        };
    }
    let name_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if !host.chars().all(name_chars) || host.starts_with('.') || host.contains("..") {
        return Err(invalid(format!("the host \"{host}\" is not a valid host name or IP address")));
    }
    Ok(())
}

fn check_port(port: &str) -> Result<(), HookUrlError> {
    match port.parse::<u16>() {
        Ok(n) if n > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ if port.is_empty() => Err(invalid("the port after ':' is empty")),
        _ => Err(invalid(format!("the port must be a number from 1 to 65535, not \"{port}\""))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https_urls() {
        for url in [
            "http://example.com",
            "https://example.com/hooks/scheduler?token=abc",
            "HTTPS://Example.COM/",
            "http://127.0.0.1:8080/x",
            "http://[::1]:8080/x",
            "https://hooks.internal_net.example:443/a/b",
            "http://host:1/",
            "http://host:65535/",
        ] {
            assert_eq!(validate_hook_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn rejects_bad_urls_saying_what_is_wrong() {
        let cases = [
            ("", "the URL is empty"),
            ("  ", "the URL is empty"),
            ("ftp://example.com/", "the scheme must be http or https, not \"ftp\""),
            ("file:///etc/passwd", "the scheme must be http or https, not \"file\""),
            ("://example.com/", "it must start with http:// or https://"),
            ("http:/example.com/", "it must start with http:// or https://"),
            ("example.com/hook", "it must start with http:// or https://"),
            ("example.com", "it must start with http:// or https://"),
            ("/hook", "it must start with http:// or https://"),
            ("http:example.com", "it must start with http:// or https://"),
            ("http://", "it has no host"),
            ("http:///path", "it is not of the form http://host/path"),
            ("http://:80/", "it has no host"),
            ("http://user:pw@example.com/", "user info (user:password@) is not allowed"),
            ("http://user@example.com/", "user info (user:password@) is not allowed"),
            ("http://@example.com/", "user info (user:password@) is not allowed"),
            ("http://example.com:0/", "the port must be a number from 1 to 65535, not \"0\""),
            ("http://example.com:65536/", "the port must be a number from 1 to 65535, not \"65536\""),
            ("http://example.com:8a/", "not \"8a\""),
            ("http://example.com:/", "the port after ':' is empty"),
            ("http://exa mple.com/", "spaces, control and non-ASCII characters must be percent-encoded"),
            ("http://h\u{e9}.example/", "must be percent-encoded"),
            ("http://[::1/", "the host or port is malformed"),
            ("http://[fe80::1%25eth0]/", "the host [fe80::1%25eth0] is not a valid IPv6 address"),
            ("http://[::1]x/", "the host or port is malformed"),
            ("http://a..b/", "the host \"a..b\" is not a valid host name"),
            ("http://example.com/a#frag", "a fragment (#...) is never sent"),
        ];
        for (url, expected) in cases {
            let message = validate_hook_url(url).unwrap_err().to_string();
            assert!(message.contains(expected), "{url:?}: {message:?} should contain {expected:?}");
        }
    }

    #[test]
    fn messages_do_not_repeat_the_query_string() {
        let message = validate_hook_url("ftp://example.com/?token=s3cr3t").unwrap_err().to_string();
        assert!(!message.contains("s3cr3t"), "{message}");
    }

    #[test]
    fn knows_the_effective_port_and_host() {
        let cases = [
            ("http://a.example/", 80, "a.example"),
            ("https://a.example/", 443, "a.example"),
            ("http://[::1]:9/", 9, "[::1]"),
        ];
        for (url, port, host) in cases {
            let parsed = HookUrl::parse(url).unwrap();
            assert_eq!((parsed.port(), parsed.host()), (port, host), "{url}");
        }
        assert!(HookUrl::parse("HTTPS://x.example").unwrap().is_https());
    }
}
