use trustform_sandbox::{Sandbox, SandboxConfig};

use crate::clients;

#[tokio::test]
async fn caller_identity_names_the_configured_account() {
    let sandbox = Sandbox::start(SandboxConfig::default().account_id("210987654321")).await.unwrap();
    let sts = clients::sts(&sandbox, clients::single_attempt());

    let identity = sts.get_caller_identity().send().await.unwrap();

    assert_eq!(identity.account(), Some("210987654321"));
    assert_eq!(identity.arn(), Some("arn:aws:iam::210987654321:user/sandbox"));
    assert!(identity.user_id().is_some_and(|id| id.starts_with("AIDA")));
    sandbox.shutdown().await;
}
