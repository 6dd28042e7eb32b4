// SPDX-License-Identifier: GPL-2.0

//! P_Key child interfaces and the C driver's sysfs input rules.
//!
//! C: `create_child_store`, `delete_child_store`, `mode_store`, `umcast_store` (ipoib_main.c,
//! ipoib_cm.c), `ipoib_vlan_add`, `is_child_unique` (ipoib_vlan.c), `ipoib_new_child_link`
//! (ipoib_netlink.c).

use super::addr::PKEY_FULL_MEMBER;

/// How a child interface was created: the two kinds differ in their sysfs files and in
/// whether they may share a P_Key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChildKind {
    /// `echo PKEY > create_child` (`IPOIB_LEGACY_CHILD`): named `<parent>.<pkey>`, deleted by
    /// P_Key, so its P_Key must be unique on the parent.
    Legacy,
    /// `ip link add ... type ipoib` (`IPOIB_RTNL_CHILD`): deleted by name, so P_Keys may repeat.
    Rtnl,
}

/// Why a child cannot be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChildError {
    /// `EINVAL`: P_Key 0 or 0x8000 (the invalid P_Key, with or without membership).
    InvalidPkey,
    /// `ENOTUNIQ`: a legacy child would repeat the parent's or another legacy child's P_Key.
    NotUnique,
}

/// Skips leading white space, as the kernel's `sscanf` and `simple_strtoul` callers see it.
fn skip_blanks(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &s[n..]
}

/// Reads an unsigned number with C's base prefixes (`0x` hexadecimal, `0` octal, else
/// decimal) up to the first character that is not a digit of that base; returns the value,
/// wrapped to 64 bits, and whether any digit was read (`_parse_integer` in lib/kstrtox.c).
fn parse_prefixed(s: &[u8]) -> (u64, bool) {
    let (radix, digits) =
        if s.len() > 2 && s[0] == b'0' && (s[1] | 0x20) == b'x' && s[2].is_ascii_hexdigit() {
            (16u64, &s[2..])
        } else if s.first() == Some(&b'0') {
            (8, s)
        } else {
            (10, s)
        };
    let mut v: u64 = 0;
    let mut any = false;
    for &c in digits {
        let d = match c {
            b'0'..=b'9' => u64::from(c - b'0'),
            b'a'..=b'f' => u64::from(c - b'a' + 10),
            b'A'..=b'F' => u64::from(c - b'A' + 10),
            _ => break,
        };
        if d >= radix {
            break;
        }
        v = v.wrapping_mul(radix).wrapping_add(d);
        any = true;
    }
    (v, any)
}

/// Parses an integer as C's `sscanf("%i")` does: leading blanks, an optional sign, then `0x`
/// hexadecimal, `0` octal or decimal, up to the first character that is not a digit (so a
/// trailing newline is ignored). Returns `None` if no digit was read. The value wraps to 32
/// bits like the C conversion into an `int`.
pub(crate) fn parse_c_int(input: &[u8]) -> Option<i32> {
    let s = skip_blanks(input);
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (v, any) = parse_prefixed(s);
    if !any {
        return None;
    }
    let v = v as u32 as i32;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses an unsigned value as the kernel's `simple_strtoul(buf, NULL, 0)` does (`umcast`):
/// no blanks skipped, and anything unparsable is 0.
pub(crate) fn parse_simple_ul(input: &[u8]) -> u64 {
    parse_prefixed(input).0
}

/// Validates a `create_child` write: the P_Key as given (`pkey <= 0 || pkey > 0xffff ||
/// pkey == 0x8000` is `EINVAL`, checked before anything else).
pub(crate) fn create_child_pkey(input: &[u8]) -> Option<u16> {
    let v = parse_c_int(input)?;
    if v <= 0 || v > 0xffff || v == 0x8000 {
        return None;
    }
    u16::try_from(v).ok()
}

/// Validates a `delete_child` write: `0..=0xffff`.
pub(crate) fn delete_child_pkey(input: &[u8]) -> Option<u16> {
    u16::try_from(parse_c_int(input)?).ok()
}

/// The P_Key a child uses: the full-member bit is always set (`ipoib_ndo_init`).
pub(crate) fn effective_pkey(pkey: u16) -> u16 {
    pkey | PKEY_FULL_MEMBER
}

/// Checks a new child's P_Key as given (`__ipoib_vlan_add`): 0 and 0x8000 are invalid; a legacy
/// child must not repeat the parent's effective P_Key nor a legacy sibling's. `parent` and
/// `legacy_siblings` are effective P_Keys; the new P_Key is compared as given, as in C (so a
/// child `0x7fff` of a `0xffff` parent is allowed and ends up with P_Key 0xffff).
pub(crate) fn check_new_child(
    pkey: u16,
    kind: ChildKind,
    parent: u16,
    mut legacy_siblings: impl Iterator<Item = u16>,
) -> Result<(), ChildError> {
    if pkey == 0 || pkey == PKEY_FULL_MEMBER {
        return Err(ChildError::InvalidPkey);
    }
    if kind == ChildKind::Rtnl {
        return Ok(());
    }
    if pkey == parent || legacy_siblings.any(|s| s == pkey) {
        return Err(ChildError::NotUnique);
    }
    Ok(())
}

/// Formats a legacy child's name, `"%.10s.%04x"` of the parent's name and the P_Key as
/// written; returns the length used in `out` (at most 15 bytes, no NUL).
pub(crate) fn legacy_child_name(parent: &[u8], pkey: u16, out: &mut [u8; 16]) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = parent.len().min(10);
    out[..n].copy_from_slice(&parent[..n]);
    out[n] = b'.';
    for i in 0..4 {
        out[n + 1 + i] = HEX[usize::from((pkey >> (12 - 4 * i)) & 0xf)];
    }
    n + 5
}

/// The datagram/connected mode as sysfs writes it (`mode_store`: exactly these strings,
/// newline included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `datagram\n` (netlink `IPOIB_MODE_DATAGRAM`, 0).
    Datagram,
    /// `connected\n` (netlink `IPOIB_MODE_CONNECTED`, 1).
    Connected,
}

impl Mode {
    /// Parses a sysfs write: anything but the exact strings is `None` (`EINVAL`).
    pub(crate) fn from_sysfs(input: &[u8]) -> Option<Self> {
        match input {
            b"datagram\n" => Some(Self::Datagram),
            b"connected\n" => Some(Self::Connected),
            _ => None,
        }
    }

    /// Parses `IFLA_IPOIB_MODE`.
    pub(crate) fn from_netlink(v: u16) -> Option<Self> {
        match v {
            0 => Some(Self::Datagram),
            1 => Some(Self::Connected),
            _ => None,
        }
    }

    /// What the `mode` file shows.
    pub(crate) fn sysfs_name(self) -> &'static str {
        match self {
            Self::Datagram => "datagram\n",
            Self::Connected => "connected\n",
        }
    }

    /// The `IFLA_IPOIB_MODE` value.
    pub(crate) fn netlink_value(self) -> u16 {
        match self {
            Self::Datagram => 0,
            Self::Connected => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_int_parsing() {
        assert_eq!(parse_c_int(b"0x8001\n"), Some(0x8001));
        assert_eq!(parse_c_int(b"0X8001"), Some(0x8001));
        assert_eq!(parse_c_int(b"32769\n"), Some(32769));
        assert_eq!(parse_c_int(b"0100"), Some(64));
        assert_eq!(parse_c_int(b"  -5"), Some(-5));
        assert_eq!(parse_c_int(b"0x"), Some(0));
        assert_eq!(parse_c_int(b"08"), Some(0));
        assert_eq!(parse_c_int(b"12abc"), Some(12));
        assert_eq!(parse_c_int(b""), None);
        assert_eq!(parse_c_int(b"\n"), None);
        assert_eq!(parse_c_int(b"foo"), None);
        assert_eq!(parse_c_int(b"-"), None);
    }

    #[test]
    fn create_child_bounds() {
        assert_eq!(create_child_pkey(b"0x8001\n"), Some(0x8001));
        assert_eq!(create_child_pkey(b"1\n"), Some(1));
        assert_eq!(create_child_pkey(b"0xffff"), Some(0xffff));
        assert_eq!(create_child_pkey(b"0\n"), None);
        assert_eq!(create_child_pkey(b"0x8000\n"), None);
        assert_eq!(create_child_pkey(b"0x10000\n"), None);
        assert_eq!(create_child_pkey(b"-1\n"), None);
        assert_eq!(create_child_pkey(b"junk\n"), None);
    }

    #[test]
    fn delete_child_bounds() {
        assert_eq!(delete_child_pkey(b"0\n"), Some(0));
        assert_eq!(delete_child_pkey(b"0xffff\n"), Some(0xffff));
        assert_eq!(delete_child_pkey(b"0x10000\n"), None);
        assert_eq!(delete_child_pkey(b"-1"), None);
        assert_eq!(delete_child_pkey(b"x"), None);
    }

    #[test]
    fn uniqueness() {
        let none = core::iter::empty();
        assert_eq!(
            check_new_child(0, ChildKind::Rtnl, 0xffff, none),
            Err(ChildError::InvalidPkey)
        );
        assert_eq!(
            check_new_child(0x8000, ChildKind::Legacy, 0xffff, core::iter::empty()),
            Err(ChildError::InvalidPkey)
        );
        // The parent's P_Key: refused for legacy children, allowed for netlink ones.
        assert_eq!(
            check_new_child(0xffff, ChildKind::Legacy, 0xffff, core::iter::empty()),
            Err(ChildError::NotUnique)
        );
        assert_eq!(
            check_new_child(0xffff, ChildKind::Rtnl, 0xffff, core::iter::empty()),
            Ok(())
        );
        // A legacy sibling's P_Key.
        assert_eq!(
            check_new_child(0x8001, ChildKind::Legacy, 0xffff, [0x8001].into_iter()),
            Err(ChildError::NotUnique)
        );
        // Compared as given: 0x0001 does not collide with a sibling 0x8001, nor 0x7fff with
        // the 0xffff parent.
        assert_eq!(
            check_new_child(0x0001, ChildKind::Legacy, 0xffff, [0x8001].into_iter()),
            Ok(())
        );
        assert_eq!(
            check_new_child(0x7fff, ChildKind::Legacy, 0xffff, core::iter::empty()),
            Ok(())
        );
        assert_eq!(effective_pkey(0x0001), 0x8001);
    }

    #[test]
    fn names() {
        let mut out = [0u8; 16];
        let n = legacy_child_name(b"ib0", 0x8001, &mut out);
        assert_eq!(&out[..n], b"ib0.8001");
        let n = legacy_child_name(b"ibp0s4f1abcdef", 0x1, &mut out);
        assert_eq!(&out[..n], b"ibp0s4f1ab.0001");
        assert_eq!(n, 15);
    }

    #[test]
    fn modes() {
        assert_eq!(Mode::from_sysfs(b"connected\n"), Some(Mode::Connected));
        assert_eq!(Mode::from_sysfs(b"datagram\n"), Some(Mode::Datagram));
        assert_eq!(Mode::from_sysfs(b"connected"), None);
        assert_eq!(Mode::from_sysfs(b"foo\n"), None);
        assert_eq!(Mode::from_netlink(2), None);
        assert_eq!(Mode::Datagram.sysfs_name(), "datagram\n");
        assert_eq!(Mode::Connected.netlink_value(), 1);
    }

    #[test]
    fn simple_ul() {
        assert_eq!(parse_simple_ul(b"1\n"), 1);
        assert_eq!(parse_simple_ul(b"0\n"), 0);
        assert_eq!(parse_simple_ul(b"junk"), 0);
        assert_eq!(parse_simple_ul(b"0x10"), 16);
    }
}
