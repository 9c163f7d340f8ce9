//! STS: `GetCallerIdentity`, answering for whichever credentials signed the request (a session
//! the sandbox issued, by its session token, else the sandbox's IAM user), and
//! `AssumeRoleWithWebIdentity` ([`crate::federation::web_identity`]).

use crate::query::{invalid_action, Params, QueryError, Xml};
use crate::server::Shared;

/// Serves one STS action: `GetCallerIdentity` for the account the request was signed for (or
/// the session the sandbox issued), `AssumeRoleWithWebIdentity` in the role's own account.
pub(crate) fn dispatch(
    shared: &Shared,
    account_id: &str,
    action: &str,
    params: &Params,
    session_token: Option<&str>,
) -> Result<Option<String>, QueryError> {
    match action {
        "GetCallerIdentity" => Ok(Some(caller_identity(account_id, session_token))),
        "AssumeRoleWithWebIdentity" => crate::federation::web_identity::assume_role_with_web_identity(shared, params),
        _ => Err(invalid_action(action, params.get("Version"))),
    }
}

/// A session the sandbox issued answers as its assumed role; any other credentials as one IAM
/// user of the configured account.
pub(crate) fn caller_identity(account_id: &str, session_token: Option<&str>) -> String {
    let arn = crate::federation::caller_arn(session_token, account_id);
    let user_id = match arn.rsplit_once('/') {
        Some((_, session)) if arn.contains(":assumed-role/") => {
            format!("{}:{session}", crate::federation::SessionCredentials::issue(&arn).role_id)
        }
        _ => "AIDASANDBOXSANDBOX000".to_owned(),
    };
    let account = crate::federation::arn_account(&arn).unwrap_or(account_id).to_owned();
    let mut xml = Xml::default();
    xml.leaf("Arn", &arn).leaf("UserId", &user_id).leaf("Account", &account);
    xml.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names_the_configured_account() {
        let xml = caller_identity("210987654321", None);
        assert!(xml.contains("<Account>210987654321</Account>"), "{xml}");
        assert!(xml.contains("<Arn>arn:aws:iam::210987654321:user/sandbox</Arn>"), "{xml}");
    }
}
