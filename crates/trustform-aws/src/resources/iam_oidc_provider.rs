//! `aws_iam_openid_connect_provider`: CreateOpenIDConnectProvider, GetOpenIDConnectProvider,
//! UpdateOpenIDConnectProviderThumbprint, Add/RemoveClientIDTo/FromOpenIDConnectProvider, the
//! tag calls, DeleteOpenIDConnectProvider. The id is the provider's ARN.

use crate::account::Account;
use crate::api::{
    created_since, found, gone, required, string_set, strings, tag_changes, tags_value, text, with, Api, Created,
};
use crate::error::from_sdk;
use crate::policy::oidc_url_value;
use crate::resources::iam_role::iam_tags;
use crate::schema;
use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput;
use std::collections::BTreeMap;
use trustform_lang::{Part, Partial, Value};
use trustform_provider::attrs::{derived_or_prior, derived_text};
use trustform_provider::ProviderError;
use trustform_provider::{DataSource, ResourceType, Session};
use trustform_schema::ResourceSchema;

/// The name IAM gives a provider in its ARN: the URL without `https://`, and nothing else
/// removed. A trailing slash stays (aws/aws-sam-cli#7432: `https://own-gitlab.com/` made the
/// provider `own-gitlab.com/`, which tokens from `https://own-gitlab.com` then did not find;
/// moto keeps it too).
fn arn_name(url: &str) -> &str {
    url.strip_prefix("https://").unwrap_or(url)
}

/// The provider's ARN as far as plan time knows it: `arn:PARTITION:iam::ACCOUNT:oidc-provider/`
/// and the URL without `https://` ([`arn_name`]; IAM ARNs,
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns>;
/// the IRSA trust policies of
/// <https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html> name
/// `arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID`).
pub(crate) fn planned_arn(account: &Account, planned: &Value) -> Option<Value> {
    let start = Value::string(format!("{}oidc-provider/", account.iam_arn_prefix()));
    let host_path = match planned.get("url")?.unmarked() {
        Value::String(url) => Value::string(arn_name(url)),
        Value::Partial(shape) => {
            let mut parts = shape.parts().to_vec();
            if let Some(Part::Text(first)) = parts.first_mut() {
                *first = arn_name(first).to_owned();
            }
            Partial::new(parts).map_or(Value::Unknown, |shape| Value::Partial(Box::new(shape)))
        }
        other => other.clone(),
    };
    derived_text([&start, &host_path])
}

pub(crate) async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let url = required(planned, "url")?;
    let client_ids = strings(planned, "client_id_list");
    let thumbprints =
        planned.get("thumbprint_list").filter(|v| !v.is_null()).map(|_| strings(planned, "thumbprint_list"));
    let tags = iam_tags(&crate::api::string_map(planned, "tags"))?;
    let iam = &api.clients.iam;
    let (client_ids, thumbprints, tags) = (&client_ids, &thumbprints, &tags);
    let created = api
        .create(|| async move {
            iam.create_open_id_connect_provider()
                .url(url)
                .set_client_id_list(Some(client_ids.clone()))
                .set_thumbprint_list(thumbprints.clone())
                .set_tags((!tags.is_empty()).then(|| tags.clone()))
                .send()
                .await
                .map_err(|e| from_sdk("iam:CreateOpenIDConnectProvider", e))
        })
        .await?;
    let arn = match created {
        Created::Now(output) => output
            .open_id_connect_provider_arn
            .ok_or_else(|| ProviderError::transient("iam:CreateOpenIDConnectProvider returned no ARN"))?,
        Created::ByLostAttempt { started } => {
            let arn = find_arn(api, url).await?;
            let live = get(api, &arn).await?;
            if !live.create_date().is_some_and(|created| created_since(started, created)) {
                return Err(ProviderError::already_exists(format!(
                    "an OpenID Connect provider for {url} already exists; import it with the id \"{arn}\""
                ))
                .with_code("EntityAlreadyExists"));
            }
            arn
        }
    };
    let thumbprint_list = match thumbprints {
        Some(thumbprints) => string_set(thumbprints.iter().map(String::as_str)),
        // Left unset, IAM works the thumbprints out itself: read what it chose.
        None => {
            let live = get(api, &arn).await?;
            string_set(live.thumbprint_list().iter().map(String::as_str))
        }
    };
    Ok(with(planned, [("arn", Value::string(&arn)), ("id", Value::string(&arn)), ("thumbprint_list", thumbprint_list)]))
}

/// The provider an interrupted create of `planned` made, found by its URL (IAM keeps one
/// provider per URL, and its ARN ends in the URL without scheme): adopted only when its client
/// ids, thumbprints (when the plan gives them) and tags are the planned ones.
pub(crate) async fn find(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let url = required(planned, "url")?;
    let Some(arn) = found(find_arn(api, url).await)? else {
        return Ok(None);
    };
    let Some(live) = found(get(api, &arn).await)? else {
        return Ok(None);
    };
    let state = state_of(Some(planned), &arn, &live);
    // Client ids compare exactly; thumbprints are hex, in either case.
    let sets_differ = |name: &str, fold: bool| {
        let set = |value: &Value| -> Vec<String> {
            let mut items: Vec<String> =
                strings(value, name).into_iter().map(|s| if fold { s.to_ascii_lowercase() } else { s }).collect();
            items.sort();
            items.dedup();
            items
        };
        set(planned) != set(&state)
    };
    let mut differences = Vec::new();
    if sets_differ("client_id_list", false) {
        differences.push("client ids");
    }
    if planned.get("thumbprint_list").is_some_and(|v| !v.is_null()) && sets_differ("thumbprint_list", true) {
        differences.push("thumbprints");
    }
    if crate::api::string_map(planned, "tags") != crate::api::string_map(&state, "tags") {
        differences.push("tags");
    }
    if !differences.is_empty() {
        return Err(ProviderError::already_exists(format!(
            "an OpenID Connect provider for {url} exists ({arn}) but its {} are not the planned ones, so it is not adopted; if it is the one this spec describes, import it with the id \"{arn}\", otherwise delete it or change the url",
            differences.join(", ")
        ))
        .with_code("EntityAlreadyExists"));
    }
    Ok(Some(state))
}

pub(crate) async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let arn = required(state, "id")?;
    let live = found(get(api, arn).await)?;
    Ok(live.map(|live| state_of(Some(state), arn, &live)))
}

pub(crate) async fn import(api: &Api, arn: &str) -> Result<Value, ProviderError> {
    let live = get(api, arn).await?;
    Ok(state_of(None, arn, &live))
}

pub(crate) async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let arn = required(prior, "id")?;
    let iam = &api.clients.iam;

    let thumbprints = strings(planned, "thumbprint_list");
    let thumbprints_set = planned.get("thumbprint_list").is_some_and(|v| !v.is_null());
    if thumbprints_set
        && string_set(thumbprints.iter().map(String::as_str))
            != string_set(strings(prior, "thumbprint_list").iter().map(String::as_str))
    {
        let thumbprints = &thumbprints;
        api.call(|| async move {
            iam.update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(thumbprints.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:UpdateOpenIDConnectProviderThumbprint", e))
        })
        .await?;
    }

    let (old, new) = (strings(prior, "client_id_list"), strings(planned, "client_id_list"));
    for client_id in new.iter().filter(|id| !old.contains(id)) {
        api.call(|| async move {
            iam.add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:AddClientIDToOpenIDConnectProvider", e))
        })
        .await?;
    }
    for client_id in old.iter().filter(|id| !new.contains(id)) {
        api.call(|| async move {
            iam.remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .client_id(client_id)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:RemoveClientIDFromOpenIDConnectProvider", e))
        })
        .await?;
    }

    let (set, removed) = tag_changes(prior, planned);
    if !removed.is_empty() {
        let removed = &removed;
        api.call(|| async move {
            iam.untag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .set_tag_keys(Some(removed.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:UntagOpenIDConnectProvider", e))
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = &iam_tags(&set)?;
        api.call(|| async move {
            iam.tag_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:TagOpenIDConnectProvider", e))
        })
        .await?;
    }

    let thumbprint_list = if thumbprints_set {
        string_set(thumbprints.iter().map(String::as_str))
    } else {
        prior.get("thumbprint_list").cloned().unwrap_or_default()
    };
    let computed = [
        ("arn", prior.get("arn").cloned().unwrap_or_default()),
        ("id", Value::string(arn)),
        ("thumbprint_list", thumbprint_list),
    ];
    Ok(with(planned, computed))
}

pub(crate) async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let arn = required(state, "id")?;
    let iam = &api.clients.iam;
    gone(
        api.call(|| async move {
            iam.delete_open_id_connect_provider()
                .open_id_connect_provider_arn(arn)
                .send()
                .await
                .map(drop)
                .map_err(|e| from_sdk("iam:DeleteOpenIDConnectProvider", e))
        })
        .await,
    )
}

async fn get(api: &Api, arn: &str) -> Result<GetOpenIdConnectProviderOutput, ProviderError> {
    let iam = &api.clients.iam;
    api.call(|| async move {
        iam.get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| from_sdk("iam:GetOpenIDConnectProvider", e))
    })
    .await
}

/// The ARN of the provider for `url`: ARNs end in `oidc-provider/` and the URL without scheme.
async fn find_arn(api: &Api, url: &str) -> Result<String, ProviderError> {
    let iam = &api.clients.iam;
    let output = api
        .call(|| async move {
            iam.list_open_id_connect_providers().send().await.map_err(|e| from_sdk("iam:ListOpenIDConnectProviders", e))
        })
        .await?;
    let suffix = format!(":oidc-provider/{}", arn_name(url));
    output
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|entry| entry.arn())
        .find(|arn| arn.ends_with(&suffix))
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::not_found(format!("no OpenID Connect provider for {url}")))
}

fn state_of(prior: Option<&Value>, arn: &str, live: &GetOpenIdConnectProviderOutput) -> Value {
    let tags: BTreeMap<String, String> =
        live.tags().iter().map(|tag| (tag.key().to_owned(), tag.value().to_owned())).collect();
    Value::object([
        ("id", Value::string(arn)),
        ("arn", Value::string(arn)),
        ("url", oidc_url_value(prior.and_then(|prior| prior.get("url")), live.url().unwrap_or_default())),
        ("client_id_list", string_set(live.client_id_list().iter().map(String::as_str))),
        ("thumbprint_list", string_set(live.thumbprint_list().iter().map(String::as_str))),
        ("tags", tags_value(prior, tags)),
    ])
}

/// `aws_iam_openid_connect_provider`, as the provider serves it.
pub(crate) struct IamOidcProvider;

#[async_trait]
impl ResourceType<Api> for IamOidcProvider {
    fn schema(&self) -> ResourceSchema {
        schema::iam_openid_connect_provider()
    }

    /// The ARN follows from the account and the URL. The id (the same ARN) is left to the
    /// create: an interrupted create is then looked up by URL (`find`), which adopts only a
    /// provider with the planned client ids, thumbprints and tags, where a planned id would
    /// adopt whatever holds the ARN.
    fn plan(&self, session: &Session<Api>, prior: Option<&Value>, planned: Value) -> Result<Value, ProviderError> {
        let account = session.peek().and_then(|api| api.account.as_ref());
        let derived = account.and_then(|account| planned_arn(account, &planned));
        Ok(match derived_or_prior(prior, &planned, &["url"], "arn", derived) {
            Some(arn) => with(&planned, [("arn", arn)]),
            None => planned,
        })
    }

    /// AWS chooses the id, but the URL is a natural key an interrupted create is found by.
    fn findable(&self) -> bool {
        true
    }

    async fn find(&self, session: &Session<Api>, planned: &Value) -> Result<Option<Value>, ProviderError> {
        find(session.clients()?, planned).await
    }

    async fn read(&self, session: &Session<Api>, state: &Value) -> Result<Option<Value>, ProviderError> {
        read(session.clients()?, state).await
    }

    async fn create(
        &self,
        session: &Session<Api>,
        planned: &Value,
        _: &dyn trustform_provider::Checkpoint,
    ) -> Result<Value, ProviderError> {
        create(session.clients()?, planned).await
    }

    async fn update(&self, session: &Session<Api>, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
        update(session.clients()?, prior, planned).await
    }

    async fn delete(&self, session: &Session<Api>, state: &Value) -> Result<(), ProviderError> {
        delete(session.clients()?, state).await
    }

    async fn import(&self, session: &Session<Api>, id: &str) -> Result<Value, ProviderError> {
        import(session.clients()?, id).await
    }
}

/// `data "aws_iam_openid_connect_provider"`: an existing provider, by `arn` or by `url`.
pub(crate) struct IamOidcProviderData;

#[async_trait]
impl DataSource<Api> for IamOidcProviderData {
    fn schema(&self) -> ResourceSchema {
        schema::iam_openid_connect_provider_data()
    }

    async fn read_data(&self, session: &Session<Api>, config: &Value) -> Result<Value, ProviderError> {
        let api = session.clients()?;
        let arn = match (text(config, "arn"), text(config, "url")) {
            (Some(arn), None) => arn.to_owned(),
            (None, Some(url)) => find_arn(api, url).await?,
            _ => {
                return Err(ProviderError::invalid(
                    "data \"aws_iam_openid_connect_provider\" needs exactly one of `arn` and `url`; give the provider's ARN, or the issuer URL it was created for",
                ))
            }
        };
        let live = get(api, &arn).await?;
        Ok(state_of(Some(config), &arn, &live))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trustform_lang::Hole;

    #[test]
    fn the_arn_is_the_account_and_the_urls_host_and_path() {
        let account = Account { id: "123456789012".into(), partition: "aws-us-gov".into() };
        let provider = |url: Value| Value::object([("url", url)]);
        assert_eq!(
            planned_arn(&account, &provider("https://oidc.circleci.com/org/abc".into())),
            Some(Value::from("arn:aws-us-gov:iam::123456789012:oidc-provider/oidc.circleci.com/org/abc"))
        );
        assert_eq!(
            planned_arn(&account, &provider("https://gitlab.example.com/".into())),
            Some(Value::from("arn:aws-us-gov:iam::123456789012:oidc-provider/gitlab.example.com/")),
            "IAM keeps a trailing slash in the name"
        );
        let issuer = Partial::new([
            Part::Text("https://oidc.eks.eu-west-1.amazonaws.com/id/".into()),
            Part::Hole(Hole::reference("aws_eks_cluster.c.id")),
        ])
        .unwrap();
        let arn = planned_arn(&account, &provider(Value::Partial(Box::new(issuer)))).unwrap();
        assert_eq!(
            arn.as_partial().unwrap().to_template(),
            "arn:aws-us-gov:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/${aws_eks_cluster.c.id}"
        );
        let unknown = planned_arn(&account, &provider(Value::Unknown)).unwrap();
        assert_eq!(unknown.as_partial().unwrap().prefix(), "arn:aws-us-gov:iam::123456789012:oidc-provider/");
    }

    #[test]
    fn reads_normalise_the_url_and_sort_the_sets() {
        let live = GetOpenIdConnectProviderOutput::builder()
            .url("oidc.circleci.com/org/abc")
            .client_id_list("b")
            .client_id_list("a")
            .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
            .build();
        let state = state_of(None, "arn:aws:iam::123456789012:oidc-provider/oidc.circleci.com/org/abc", &live);
        assert_eq!(state.get("url").and_then(Value::as_str), Some("https://oidc.circleci.com/org/abc"));
        assert_eq!(state.get("client_id_list"), Some(&string_set(["a", "b"])));
        assert_eq!(state.get("tags"), Some(&Value::Null));
    }
}
