//! Lenient IP address parsing for audit logs.
//!
//! Anonymised logs (the Stratus Red Team detonation logs, for one) write IPv4 addresses with
//! zero-padded octets (`075.050.255.67`), which `std::net::Ipv4Addr` rejects. The padding is read
//! as decimal, as the log's producer meant it, and reported to the caller so it can be counted.

use std::net::{IpAddr, Ipv4Addr};

/// A parsed address and whether it had to be repaired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedIp {
    /// The address.
    pub ip: IpAddr,
    /// True when the text had zero-padded IPv4 octets.
    pub zero_padded: bool,
}

/// Parses an IPv4 or IPv6 address, accepting zero-padded decimal IPv4 octets.
pub fn parse_ip_lenient(text: &str) -> Option<ParsedIp> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ParsedIp { ip, zero_padded: false });
    }
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(ParsedIp { ip: IpAddr::V4(Ipv4Addr::from(octets)), zero_padded: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_zero_padded_octets() {
        let p = parse_ip_lenient("075.050.255.67").expect("parses");
        assert_eq!(p.ip.to_string(), "75.50.255.67");
        assert!(p.zero_padded);
        assert!(!parse_ip_lenient("10.0.0.1").expect("parses").zero_padded);
        assert!(parse_ip_lenient("::1").is_some());
        for bad in ["256.1.1.1", "1.2.3", "1.2.3.4.5", "a.b.c.d", "ec2.amazonaws.com", "0001.2.3.4", ""] {
            assert!(parse_ip_lenient(bad).is_none(), "{bad}");
        }
    }
}
