//! `socket = 7100 | "ADDR:PORT" | "auto"`: a listening socket proj holds for a process
//! (SPEC §9.3).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::fields::{Field, Reader, Value};

/// Where a bare port (`socket = 7100`, `"auto"`) listens: loopback, as a development
/// server does by default; `"0.0.0.0:7100"` or `"[::]:7100"` says otherwise.
pub(crate) const DEFAULT_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const HELP: &str = r#"write a port (`socket = 7100`), an address and port (`socket = "127.0.0.1:7100"`, `"[::1]:7100"`), or `socket = "auto"` for a free port"#;

/// The address and port of a `socket`, the port `None` for `"auto"`.
pub(super) fn read_socket(
    reader: &mut Reader,
    field: Field<'_>,
    value: &Value<'_>,
) -> Option<(IpAddr, Option<u16>)> {
    if value.get_ref().as_integer().is_some() {
        let port = reader.integer(field, value, 1..=65535, "ports are 1 to 65535")?;
        return Some((DEFAULT_ADDRESS, u16::try_from(port).ok()));
    }
    let text = reader.string(field, value)?;
    let text = text.trim();
    if text == "auto" {
        return Some((DEFAULT_ADDRESS, None));
    }
    match text.parse::<SocketAddr>() {
        Ok(address) if address.port() != 0 => Some((address.ip(), Some(address.port()))),
        Ok(_) => {
            reader.invalid(field, value.span(), "port 0 is not a port", HELP);
            None
        }
        Err(_) => {
            let label = if text.parse::<u16>().is_ok() {
                "a port, but quoted".to_string()
            } else {
                format!("`{text}` is not an address and port")
            };
            reader.invalid(field, value.span(), label, HELP);
            None
        }
    }
}
