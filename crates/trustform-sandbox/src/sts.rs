//! STS: `GetCallerIdentity`, answering for whichever credentials signed the request.

use crate::query::{invalid_action, Params, QueryError, Xml};

pub(crate) fn dispatch(account_id: &str, action: &str, params: &Params) -> Result<Option<String>, QueryError> {
    match action {
        "GetCallerIdentity" => Ok(Some(caller_identity(account_id))),
        _ => Err(invalid_action(action, params.get("Version"))),
    }
}

/// The sandbox authenticates everyone as the IAM user `sandbox` of the account the request was
/// signed for.
fn caller_identity(account_id: &str) -> String {
    let mut xml = Xml::default();
    xml.leaf("Arn", &format!("arn:aws:iam::{account_id}:user/sandbox"))
        .leaf("UserId", "AIDASANDBOXSANDBOX000")
        .leaf("Account", account_id);
    xml.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names_the_configured_account() {
        let xml = caller_identity("210987654321");
        assert!(xml.contains("<Account>210987654321</Account>"), "{xml}");
        assert!(xml.contains("<Arn>arn:aws:iam::210987654321:user/sandbox</Arn>"), "{xml}");
    }
}
