//! IP network functions: `cidrhost`, `cidrnetmask`, `cidrsubnet` and `cidrsubnets`, with the
//! behaviour and messages of terraform's internal/lang/funcs/cidr.go and the go-cidr package
//! it calls.

use super::args::Args;
use super::{FunctionContext, FunctionError};
use crate::value::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A parsed `ADDRESS/PREFIX`, its address masked to the network's.
struct Network {
    /// The address as a number, IPv4 in the low 32 bits.
    base: u128,
    prefix: u32,
    bits: u32,
}

impl Network {
    fn parse(text: &str) -> Result<Network, String> {
        let invalid = || format!("invalid CIDR expression: invalid CIDR address: {text}");
        let (address, prefix) = text.split_once('/').ok_or_else(invalid)?;
        let address = parse_address(address).ok_or_else(invalid)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return Err(invalid());
        }
        let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
        let (value, bits) = match address {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32),
            IpAddr::V6(v6) => (u128::from(v6), 128),
        };
        if prefix > bits {
            return Err(invalid());
        }
        let network = Network { base: 0, prefix, bits };
        Ok(Network { base: value & network.mask(), ..network })
    }

    fn mask(&self) -> u128 {
        let all = if self.bits == 128 { u128::MAX } else { (1u128 << self.bits) - 1 };
        let host = self.host_bits();
        if host >= 128 {
            0
        } else {
            all & !((1u128 << host) - 1)
        }
    }

    fn host_bits(&self) -> u32 {
        self.bits - self.prefix
    }

    fn address(&self, value: u128) -> String {
        if self.bits == 32 {
            Ipv4Addr::from(value as u32).to_string()
        } else {
            Ipv6Addr::from(value).to_string()
        }
    }

    fn text(&self) -> String {
        format!("{}/{}", self.address(self.base), self.prefix)
    }
}

/// An IP address; IPv4 octets may have leading zeros, read as decimal, as terraform's
/// ipaddr package reads them ("a historical accident", the cidr functions' docs say).
fn parse_address(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        return text.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let octets: Vec<&str> = text.split('.').collect();
    if octets.len() != 4 {
        return None;
    }
    let mut bytes = [0u8; 4];
    for (slot, octet) in bytes.iter_mut().zip(octets) {
        if octet.is_empty() || octet.len() > 3 || !octet.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = octet.parse().ok()?;
    }
    Some(IpAddr::V4(Ipv4Addr::from(bytes)))
}

fn network(args: &Args, index: usize) -> Result<Network, FunctionError> {
    let text = args.string(index)?;
    Network::parse(&text).map_err(FunctionError::Failed)
}

/// `cidrhost(prefix, hostnum)`: the address of host number `hostnum` in the network; a
/// negative number counts back from the end.
pub(super) fn cidrhost(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let net = network(args, 0)?;
    let number = args.integer(1)?;
    let host_bits = net.host_bits();
    let max_host: u128 = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    let host = if number < 0 {
        let back = u128::from(number.unsigned_abs()) - 1;
        if back > max_host {
            None
        } else {
            Some(max_host - back)
        }
    } else {
        Some(number as u128).filter(|n| *n <= max_host)
    };
    let host = host.ok_or_else(|| {
        FunctionError::Failed(format!("prefix of {} does not accommodate a host numbered {number}", net.prefix))
    })?;
    Ok(Value::String(net.address(net.base | host)))
}

/// `cidrnetmask(prefix)`: the IPv4 network mask in dotted notation.
pub(super) fn cidrnetmask(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let net = network(args, 0)?;
    if net.bits != 32 {
        return Err(FunctionError::Failed(format!("IPv6 addresses cannot have a netmask: {}", args.string(0)?)));
    }
    Ok(Value::String(net.address(net.mask())))
}

/// `cidrsubnet(prefix, newbits, netnum)`: subnet number `netnum` of the network extended by
/// `newbits` bits.
pub(super) fn cidrsubnet(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let net = network(args, 0)?;
    let newbits = args.integer(1)?;
    let netnum = args.integer(2)?;
    subnet(&net, newbits, netnum).map(|n| Value::String(n.text())).map_err(FunctionError::Failed)
}

fn subnet(net: &Network, newbits: i64, netnum: i64) -> Result<Network, String> {
    let prefix = i64::from(net.prefix) + newbits;
    if newbits < 0 || prefix > i64::from(net.bits) {
        return Err(format!("insufficient address space to extend prefix of {} by {newbits}", net.prefix));
    }
    let max = if newbits >= 64 { u128::from(u64::MAX) } else { (1u128 << newbits) - 1 };
    if netnum < 0 || netnum as u128 > max {
        return Err(format!("prefix extension of {newbits} does not accommodate a subnet numbered {netnum}"));
    }
    let prefix = prefix as u32;
    let shift = net.bits - prefix;
    let offset = if shift >= 128 { 0 } else { (netnum as u128) << shift };
    Ok(Network { base: net.base | offset, prefix, bits: net.bits })
}

/// `cidrsubnets(prefix, newbits...)`: consecutive subnets of the given sizes, each aligned
/// to its own size, as terraform's CidrSubnetsFunc allocates them.
pub(super) fn cidrsubnets(args: &Args, _: &FunctionContext) -> Result<Value, FunctionError> {
    let text = args.string(0)?;
    let net = Network::parse(&text).map_err(|e| args.error(0, e))?;
    let mut out = Vec::new();
    // The next free address relative to the network's start; `None` once the last address
    // of the network is taken.
    let mut next: Option<u128> = Some(0);
    let last_address: u128 = if net.host_bits() >= 128 { u128::MAX } else { (1u128 << net.host_bits()) - 1 };
    for index in 1..args.all().len() {
        let newbits = args.integer(index)?;
        if newbits < 1 {
            return Err(args.error(index, "must extend prefix by at least one bit"));
        }
        if newbits > 32 {
            return Err(args.error(index, "may not extend prefix by more than 32 bits"));
        }
        let length = i64::from(net.prefix) + newbits;
        if length > i64::from(net.bits) {
            let protocol = if net.bits == 32 { "IPv4" } else { "IPv6" };
            return Err(args.error(
                index,
                format!("would extend prefix to {length} bits, which is too long for an {protocol} address"),
            ));
        }
        let size: u128 = 1u128 << (i64::from(net.bits) - length);
        // The subnet starts at the next free address rounded up to its own size.
        let start = next.and_then(|n| n.div_ceil(size).checked_mul(size));
        let last = start.and_then(|s| s.checked_add(size - 1)).filter(|l| *l <= last_address);
        let (Some(start), Some(last)) = (start, last) else {
            let previous = out.last().and_then(Value::as_str).map_or_else(|| net.text(), str::to_owned);
            return Err(args.error(
                index,
                format!(
                    "not enough remaining address space for a subnet with a prefix of {length} bits after {previous}"
                ),
            ));
        };
        let subnet = Network { base: net.base + start, prefix: length as u32, bits: net.bits };
        out.push(Value::String(subnet.text()));
        next = last.checked_add(1);
    }
    Ok(Value::List(out))
}

#[cfg(test)]
mod tests {
    use super::super::tests::check;

    /// The examples of developer.hashicorp.com/terraform/language/functions/cidr* and the
    /// cases of terraform's internal/lang/funcs/cidr_test.go.
    #[test]
    fn documented_examples() {
        check(&[
            ("cidrhost", vec!["10.12.112.0/20".into(), 16.into()], r#""10.12.112.16""#),
            ("cidrhost", vec!["10.12.112.0/20".into(), 268.into()], r#""10.12.113.12""#),
            ("cidrhost", vec!["fd00:fd12:3456:7890:00a2::/72".into(), 34.into()], r#""fd00:fd12:3456:7890::22""#),
            ("cidrhost", vec!["010.001.0.0/16".into(), 1.into()], r#""10.1.0.1""#),
            ("cidrhost", vec!["192.168.1.0/24".into(), (-5).into()], r#""192.168.1.251""#),
            ("cidrhost", vec!["192.168.1.0/30".into(), 5.into()], "error: prefix of 30 does not accommodate a host numbered 5"),
            ("cidrnetmask", vec!["172.16.0.0/12".into()], r#""255.240.0.0""#),
            ("cidrnetmask", vec!["10.1.0.0/32".into()], r#""255.255.255.255""#),
            ("cidrnetmask", vec!["1::/64".into()], "error: IPv6 addresses cannot have a netmask: 1::/64"),
            ("cidrnetmask", vec!["not-a-cidr".into()], "error: invalid CIDR expression: invalid CIDR address: not-a-cidr"),
            ("cidrsubnet", vec!["172.16.0.0/12".into(), 4.into(), 2.into()], r#""172.18.0.0/16""#),
            ("cidrsubnet", vec!["10.1.2.0/24".into(), 4.into(), 15.into()], r#""10.1.2.240/28""#),
            ("cidrsubnet", vec!["fd00:fd12:3456:7890::/56".into(), 16.into(), 162.into()], r#""fd00:fd12:3456:7800:a200::/72""#),
            ("cidrsubnet", vec!["192.168.2.0/20".into(), 4.into(), 6.into()], r#""192.168.6.0/24""#),
            ("cidrsubnet", vec!["192.168.0.0/30".into(), 4.into(), 6.into()], "error: insufficient address space to extend prefix of 30 by 4"),
            ("cidrsubnet", vec!["192.168.0.0/16".into(), 2.into(), 16.into()], "error: prefix extension of 2 does not accommodate a subnet numbered 16"),
            (
                "cidrsubnets",
                vec!["10.1.0.0/16".into(), 4.into(), 4.into(), 8.into(), 4.into()],
                r#"["10.1.0.0/20", "10.1.16.0/20", "10.1.32.0/24", "10.1.48.0/20"]"#,
            ),
            (
                "cidrsubnets",
                vec!["fd00:fd12:3456:7890::/56".into(), 16.into(), 16.into(), 16.into(), 32.into()],
                r#"["fd00:fd12:3456:7800::/72", "fd00:fd12:3456:7800:100::/72", "fd00:fd12:3456:7800:200::/72", "fd00:fd12:3456:7800:300::/88"]"#,
            ),
            (
                "cidrsubnets",
                vec!["10.0.0.0/30".into(), 1.into(), 1.into(), 1.into()],
                "error: Invalid value for argument 4: not enough remaining address space for a subnet with a prefix of 31 bits after 10.0.0.2/31",
            ),
            ("cidrsubnets", vec!["::/0".into(), 1.into(), 1.into()], r#"["::/1", "8000::/1"]"#),
            (
                "cidrsubnets",
                vec!["::/0".into(), 1.into(), 1.into(), 1.into()],
                "error: Invalid value for argument 4: not enough remaining address space for a subnet with a prefix of 1 bits after 8000::/1",
            ),
        ]);
    }
}
