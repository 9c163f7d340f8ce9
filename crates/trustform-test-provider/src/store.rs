use crate::schema::arn_of;
use std::collections::BTreeMap;
use trustform_lang::Value;
use trustform_provider::ProviderError;

/// A drift helper was given an id the store does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the test provider holds no object with id {0:?}")]
pub struct NoSuchObject(pub String);

/// The "cloud" behind the test provider: `test_resource` objects by id, as an API holds them
/// (every attribute present, no sensitive marks, no unknowns).
#[derive(Default)]
pub(crate) struct Store {
    objects: BTreeMap<String, Value>,
    /// Keeps the uniqueness check on create from scanning every object, which a benchmark with
    /// 100k resources would feel.
    ids_by_name: BTreeMap<String, String>,
    issued: u64,
}

impl Store {
    pub(crate) fn get(&self, id: &str) -> Option<&Value> {
        self.objects.get(id)
    }

    pub(crate) fn objects(&self) -> &BTreeMap<String, Value> {
        &self.objects
    }

    pub(crate) fn id_of(&self, name: &str) -> Option<&str> {
        self.ids_by_name.get(name).map(String::as_str)
    }

    pub(crate) fn create(&mut self, config: &Value) -> Result<Value, ProviderError> {
        let body = Body::parse(config)?;
        if let Some(existing) = self.ids_by_name.get(&body.name) {
            let message = format!("a test_resource named {:?} exists already, with id {existing}", body.name);
            return Err(ProviderError::already_exists(message).with_code("ResourceAlreadyExists"));
        }
        // An id planned by the provider (`names_as_ids`), else the next of the counter.
        let id = match config.get("id").and_then(Value::as_str) {
            Some(planned) => planned.to_owned(),
            None => {
                self.issued += 1;
                format!("tr-{:06}", self.issued)
            }
        };
        self.ids_by_name.insert(body.name.clone(), id.clone());
        let object = body.into_object(&id);
        self.objects.insert(id, object.clone());
        Ok(object)
    }

    pub(crate) fn update(&mut self, id: &str, config: &Value) -> Result<Value, ProviderError> {
        let current = self.objects.get(id).ok_or_else(|| not_found(id))?;
        let body = Body::parse(config)?;
        let current_name = current.get("name").and_then(Value::as_str).unwrap_or_default();
        if body.name != current_name {
            let message = format!(
                "the name of {id} cannot change from {current_name:?} to {:?} in place; it forces \
                 replacement, so an update that changes it is an engine bug",
                body.name
            );
            return Err(ProviderError::invalid(message).with_code("NameIsImmutable"));
        }
        let object = body.into_object(id);
        self.objects.insert(id.to_owned(), object.clone());
        Ok(object)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Value> {
        let object = self.objects.remove(id)?;
        if let Some(name) = object.get("name").and_then(Value::as_str) {
            self.unindex(name, id);
        }
        Some(object)
    }

    /// Sets one attribute and nothing else: derived attributes keep their values.
    pub(crate) fn set_attribute(&mut self, id: &str, attribute: &str, value: Value) -> Result<(), NoSuchObject> {
        let Some(Value::Object(object)) = self.objects.get_mut(id) else {
            return Err(NoSuchObject(id.to_owned()));
        };
        let value = value.deep_unmark();
        let renamed = attribute == "name";
        let old_name = object.insert(attribute.to_owned(), value.clone());
        if renamed {
            if let Some(old_name) = old_name.as_ref().and_then(Value::as_str) {
                self.unindex(old_name, id);
            }
            if let Some(new_name) = value.as_str() {
                self.ids_by_name.insert(new_name.to_owned(), id.to_owned());
            }
        }
        Ok(())
    }

    fn unindex(&mut self, name: &str, id: &str) {
        if self.ids_by_name.get(name).is_some_and(|indexed| indexed == id) {
            self.ids_by_name.remove(name);
        }
    }
}

pub(crate) fn not_found(id: &str) -> ProviderError {
    ProviderError::not_found(format!("no test_resource with id {id:?}")).with_code("ResourceNotFound")
}

/// The arguments of a create or update, checked the way an API checks a request body.
struct Body {
    name: String,
    input: Value,
    tags: Value,
    policy: Value,
    secret: Value,
    zone: String,
}

/// Where an object lives when its configuration does not say.
pub(crate) const DEFAULT_ZONE: &str = "test-zone-a";

impl Body {
    fn parse(config: &Value) -> Result<Body, ProviderError> {
        let config = config.deep_unmark();
        let argument = |name: &str| config.get(name).cloned().unwrap_or_default();
        let name = match config.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => return Err(ProviderError::invalid("`name` must be a non-empty string").with_code("InvalidName")),
        };
        let policy = match argument("policy") {
            Value::String(document) => Value::String(reformat_policy(&document)?),
            other => other,
        };
        let zone = config.get("zone").and_then(Value::as_str).unwrap_or(DEFAULT_ZONE).to_owned();
        Ok(Body { name, input: argument("input"), tags: argument("tags"), policy, secret: argument("secret"), zone })
    }

    fn into_object(self, id: &str) -> Value {
        Value::object([
            ("id", Value::string(id)),
            ("arn", Value::string(arn_of(&self.name))),
            ("name", Value::String(self.name)),
            ("output", self.input.clone()),
            ("input", self.input),
            ("tags", self.tags),
            ("policy", self.policy),
            ("secret", self.secret),
            ("zone", Value::String(self.zone)),
        ])
    }
}

/// Stores a policy the way IAM hands it back: parsed and laid out anew, so that only a
/// semantic comparison finds it unchanged.
fn reformat_policy(document: &str) -> Result<String, ProviderError> {
    let malformed = |reason: String| {
        ProviderError::invalid(format!("`policy` is not a JSON document: {reason}"))
            .with_code("MalformedPolicyDocument")
    };
    let parsed: serde_json::Value = serde_json::from_str(document).map_err(|e| malformed(e.to_string()))?;
    serde_json::to_string_pretty(&parsed).map_err(|e| malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(name: &str) -> Value {
        Value::object([("name", Value::from(name))])
    }

    #[test]
    fn ids_are_sequential_and_never_reused() {
        let mut store = Store::default();
        let first = store.create(&body("a")).unwrap();
        assert_eq!(first.get("id"), Some(&Value::from("tr-000001")));
        store.remove("tr-000001");
        let second = store.create(&body("a")).unwrap();
        assert_eq!(second.get("id"), Some(&Value::from("tr-000002")));
    }

    #[test]
    fn policies_are_reformatted_and_garbage_is_refused() {
        let mut store = Store::default();
        let given = r#"{"b":1,"a":[2]}"#;
        let config = Value::object([("name", "a".into()), ("policy", given.into())]);
        let stored = store.create(&config).unwrap();
        let policy = stored.get("policy").and_then(Value::as_str).unwrap_or_default();
        assert_ne!(policy, given);
        assert!(trustform_schema::json_documents_equal(policy, given));
        let garbage = Value::object([("name", "b".into()), ("policy", "{not json".into())]);
        let error = store.create(&garbage).unwrap_err();
        assert_eq!(error.code.as_deref(), Some("MalformedPolicyDocument"));
    }

    #[test]
    fn renaming_behind_the_back_moves_the_uniqueness_check() {
        let mut store = Store::default();
        store.create(&body("a")).unwrap();
        store.set_attribute("tr-000001", "name", "b".into()).unwrap();
        assert_eq!(store.id_of("a"), None);
        assert_eq!(store.id_of("b"), Some("tr-000001"));
        assert!(store.create(&body("a")).is_ok());
        assert!(store.create(&body("b")).unwrap_err().kind == trustform_provider::ProviderErrorKind::AlreadyExists);
    }

    #[test]
    fn updates_keep_the_name() {
        let mut store = Store::default();
        store.create(&body("a")).unwrap();
        let error = store.update("tr-000001", &body("b")).unwrap_err();
        assert_eq!(error.code.as_deref(), Some("NameIsImmutable"));
        assert!(store.update("tr-000009", &body("a")).unwrap_err().is_not_found());
    }
}
