//! Daemon addresses: the `[user@]host[:port]` authority of `ssh://` and `tcp://` endpoints.
//!
//! Owns parsing only; `connect` (which picks the endpoint) and `ssh` (which dials it) both use it.

/// The parts of a daemon address's authority, `[user@]host[:port]` after `scheme://` (IPv6
/// hosts in brackets): `(user, host, port)`, as written. `Err` only for an unclosed `[`.
pub(crate) fn split_authority(rest: &str) -> Result<(Option<&str>, &str, Option<&str>), &'static str> {
    let authority = rest.split('/').next().unwrap_or_default();
    let (user, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    Ok(match hostport.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').ok_or("unclosed `[`")?;
            (user, h, after.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (user, h, Some(p)),
            None => (user, hostport, None),
        },
    })
}
