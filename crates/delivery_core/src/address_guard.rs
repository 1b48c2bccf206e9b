//! The SSRF guard: which resolved addresses a hook request may connect to.
//!
//! Only public unicast addresses, unless the superuser lists a range in
//! `workflow_scheduler.http_allowed_cidrs`. The check runs on the address actually connected
//! to (see `client`), so a host name that resolves to an internal address, or changes its
//! answer between two lookups, gets nowhere.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address block such as `10.0.0.0/8` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// `addr/prefix_len`, host bits cleared. `None` when the prefix is too long for the family.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Option<Cidr> {
        let network = match addr {
            IpAddr::V4(v4) if prefix_len <= 32 => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask32(prefix_len))),
            IpAddr::V6(v6) if prefix_len <= 128 => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask128(prefix_len))),
            _ => return None,
        };
        Some(Cidr { network, prefix_len })
    }

    /// Whether `ip` is inside the block. An IPv4 block never contains an IPv6 address: the
    /// guard unwraps IPv4-mapped forms itself.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask32(self.prefix_len) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & mask128(self.prefix_len) == u128::from(net),
            _ => false,
        }
    }
}

fn mask32(prefix_len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0)
}

fn mask128(prefix_len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix_len)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = String;

    /// `addr/len`, or a bare address meaning that address alone (/32 or /128).
    fn from_str(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("\"{text}\": not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(len) if len <= max && !p.starts_with('+') => len,
                _ => return Err(format!("\"{text}\": the prefix length must be a number from 0 to {max}")),
            },
        };
        Cidr::new(addr, prefix_len).ok_or_else(|| format!("\"{text}\": bad prefix length"))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

/// Why `http_allowed_cidrs` was rejected; the message names the bad entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedCidrsError(String);

impl fmt::Display for AllowedCidrsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for AllowedCidrsError {}

/// A connection the guard refused. The text is the contract's: `address not allowed: <ip>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRefused(pub IpAddr);

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "address not allowed: {}", self.0)
    }
}

impl std::error::Error for AddressRefused {}

/// The guard's configuration: the ranges allowed in spite of the default denial.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    allowed: Vec<Cidr>,
}

impl AddressPolicy {
    /// A policy with these exceptions (none: public unicast addresses only).
    pub fn new(allowed: Vec<Cidr>) -> AddressPolicy {
        AddressPolicy { allowed }
    }

    /// Reads `http_allowed_cidrs`: comma-separated CIDRs, spaces allowed; empty means none.
    pub fn parse(setting: &str) -> Result<AddressPolicy, AllowedCidrsError> {
        if setting.trim().is_empty() {
            return Ok(AddressPolicy::default());
        }
        let allowed = setting
            .split(',')
            .enumerate()
            .map(|(index, entry)| match entry.trim() {
                "" => Err(AllowedCidrsError(format!("entry {} is empty", index + 1))),
                entry => entry.parse::<Cidr>().map_err(AllowedCidrsError),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AddressPolicy { allowed })
    }

    /// The exceptions, in the setting's order.
    pub fn allowed(&self) -> &[Cidr] {
        &self.allowed
    }

    /// Whether a request may connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), AddressRefused> {
        if self.is_allowed(ip) {
            Ok(())
        } else {
            Err(AddressRefused(ip))
        }
    }

    /// Public unicast, or inside an allowed range. An IPv6 form that embeds an IPv4 address
    /// is also allowed when the embedded address is, so `127.0.0.1/32` covers
    /// `::ffff:127.0.0.1`.
    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        if !is_denied_by_default(ip) {
            return true;
        }
        let embedded = embedded_ipv4(ip).map(IpAddr::V4);
        self.allowed.iter().any(|cidr| cidr.contains(ip) || embedded.is_some_and(|v4| cidr.contains(v4)))
    }
}

/// IPv4 blocks that are not public unicast (IANA special-purpose registry).
const DENIED_V4: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network", incl. the unspecified address
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // carrier-grade NAT
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, incl. cloud metadata 169.254.169.254
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // deprecated 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, incl. broadcast 255.255.255.255
];

/// IPv6 blocks inside global unicast 2000::/3 that are still not public. Everything outside
/// 2000::/3 (loopback, unspecified, unique local fc00::/7, link-local fe80::/10, multicast
/// ff00::/8, NAT64 64:ff9b::/96, discard 100::/64, ...) is denied as not global unicast.
const DENIED_V6_GLOBAL: [(Ipv6Addr, u8); 5] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32), // Teredo: tunnels to any IPv4
    (Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 0), 48), // benchmarking
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16), // 6to4: tunnels to any IPv4
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];

/// Whether `ip` is refused unless an allowed range covers it. IPv4-mapped (`::ffff:a.b.c.d`)
/// and IPv4-compatible (`::a.b.c.d`) addresses are judged by the IPv4 address they carry.
pub fn is_denied_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_denied_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(ip) {
            Some(v4) => is_denied_v4(v4),
            None => {
                let global_unicast =
                    Cidr { network: IpAddr::V6(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0)), prefix_len: 3 };
                !global_unicast.contains(IpAddr::V6(v6)) || in_any(&DENIED_V6_GLOBAL, v6)
            }
        },
    }
}

fn is_denied_v4(ip: Ipv4Addr) -> bool {
    DENIED_V4.iter().any(|&(net, len)| u32::from(ip) & mask32(len) == u32::from(net))
}

fn in_any(blocks: &[(Ipv6Addr, u8)], ip: Ipv6Addr) -> bool {
    blocks.iter().any(|&(net, len)| u128::from(ip) & mask128(len) == u128::from(net))
}

/// The IPv4 address inside an IPv4-mapped `::ffff:0:0/96` or IPv4-compatible `::/96`
/// address (the latter includes `::` and `::1`, which carry 0.0.0.0 and 0.0.0.1: both
/// denied, as they should be).
fn embedded_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    let IpAddr::V6(v6) = ip else { return None };
    let bits = u128::from(v6);
    let low = Ipv4Addr::from(bits as u32);
    match bits >> 32 {
        0 | 0xffff => Some(low),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn denied(text: &str) -> bool {
        is_denied_by_default(ip(text))
    }

    #[test]
    fn denies_every_non_public_ipv4_block() {
        for addr in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(denied(addr), "{addr} should be denied");
        }
    }

    #[test]
    fn allows_public_ipv4_including_the_neighbours_of_denied_blocks() {
        for addr in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.1",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
        ] {
            assert!(!denied(addr), "{addr} should be allowed");
        }
    }

    #[test]
    fn denies_non_public_ipv6() {
        for addr in [
            "::",
            "::1",
            "fc00::1",
            "fdff:ffff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:0:ffff::1",
            "2001:2::1",
            "2001:db8::1",
            "2002:808:808::1",
            "3fff::1",
            "4000::1",
        ] {
            assert!(denied(addr), "{addr} should be denied");
        }
    }

    #[test]
    fn allows_public_ipv6() {
        for addr in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450::1", "2001:1::1", "2003::1"] {
            assert!(!denied(addr), "{addr} should be allowed");
        }
    }

    #[test]
    fn judges_ipv6_forms_of_ipv4_by_the_embedded_address() {
        for addr in ["::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "::ffff:0.0.0.0"] {
            assert!(denied(addr), "{addr} should be denied");
        }
        for addr in ["::ffff:8.8.8.8", "::8.8.8.8"] {
            assert!(!denied(addr), "{addr} should be allowed");
        }
    }

    #[test]
    fn allowed_ranges_override_the_denial() {
        let policy = AddressPolicy::parse("127.0.0.1/32, 10.1.0.0/16, fd00::/8").unwrap();
        for addr in ["127.0.0.1", "10.1.200.3", "fd12::3", "::ffff:127.0.0.1", "8.8.8.8"] {
            assert_eq!(policy.check(ip(addr)), Ok(()), "{addr}");
        }
        for addr in ["127.0.0.2", "10.2.0.1", "fe80::1", "::1", "::ffff:127.0.0.2", "169.254.169.254"] {
            assert_eq!(policy.check(ip(addr)), Err(AddressRefused(ip(addr))), "{addr}");
        }
    }

    #[test]
    fn the_empty_policy_allows_only_public_unicast() {
        let policy = AddressPolicy::parse("").unwrap();
        assert!(policy.allowed().is_empty());
        assert!(policy.is_allowed(ip("8.8.8.8")));
        assert!(!policy.is_allowed(ip("127.0.0.1")));
        assert_eq!(AddressPolicy::parse("  ").unwrap(), AddressPolicy::default());
    }

    #[test]
    fn refusal_text_is_the_contracts() {
        assert_eq!(AddressRefused(ip("127.0.0.2")).to_string(), "address not allowed: 127.0.0.2");
        assert_eq!(AddressRefused(ip("::1")).to_string(), "address not allowed: ::1");
    }

    #[test]
    fn parses_cidrs_and_bare_addresses() {
        let policy = AddressPolicy::parse("127.0.0.1,::1,192.168.1.77/24,0.0.0.0/0,::/0").unwrap();
        let shown: Vec<String> = policy.allowed().iter().map(Cidr::to_string).collect();
        assert_eq!(shown, ["127.0.0.1/32", "::1/128", "192.168.1.0/24", "0.0.0.0/0", "::/0"]);
        let everything = AddressPolicy::parse("0.0.0.0/0").unwrap();
        assert!(everything.is_allowed(ip("10.0.0.1")) && everything.is_allowed(ip("::ffff:10.0.0.1")));
        assert!(!everything.is_allowed(ip("fe80::1")));
    }

    #[test]
    fn rejects_bad_entries_naming_them() {
        let cases = [
            ("127.0.0.1/33", "\"127.0.0.1/33\": the prefix length must be a number from 0 to 32"),
            ("::1/129", "\"::1/129\": the prefix length must be a number from 0 to 128"),
            ("127.0.0.1/", "\"127.0.0.1/\": the prefix length"),
            ("127.0.0.1/+8", "\"127.0.0.1/+8\": the prefix length"),
            ("10.0.0.0/8, localhost", "\"localhost\": not an IPv4 or IPv6 address"),
            ("10.0.0/8", "\"10.0.0/8\": not an IPv4 or IPv6 address"),
            ("[::1]/128", "\"[::1]/128\": not an IPv4 or IPv6 address"),
            ("fe80::1%eth0", "\"fe80::1%eth0\": not an IPv4 or IPv6 address"),
            ("10.0.0.0/8,,::1", "entry 2 is empty"),
            ("10.0.0.0/8,", "entry 2 is empty"),
        ];
        for (setting, expected) in cases {
            let message = AddressPolicy::parse(setting).unwrap_err().to_string();
            assert!(message.contains(expected), "{setting:?}: {message:?} should contain {expected:?}");
        }
    }

    #[test]
    fn cidr_containment_respects_family_and_prefix() {
        let v4: Cidr = "172.16.0.0/12".parse().unwrap();
        assert!(v4.contains(ip("172.20.1.1")) && !v4.contains(ip("172.32.0.0")));
        assert!(!v4.contains(ip("::ffff:172.20.1.1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!(Cidr::new(ip("10.0.0.0"), 33).is_none());
        assert!(Cidr::new(ip("::"), 129).is_none());
    }
}
